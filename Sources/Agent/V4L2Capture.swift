#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `kind = "v4l2"`: a Video4Linux2 capture device delivering MJPEG.
///
/// This build opens the device and checks with `VIDIOC_QUERYCAP` that it is a video-capture
/// device, so a missing or wrong device gives a clear error at each tick. Frame streaming
/// (S_FMT MJPEG, REQBUFS, mmap, QBUF/STREAMON/DQBUF) is not implemented yet: such a camera
/// reports that as its capture error. Use `kind = "command"` with a capture program meanwhile.
struct V4L2Capture: CameraCapture {
    let device: String
    let width: Int
    let height: Int
    let timeoutSeconds: Double
    let source: String

    /// `struct v4l2_capability` from <linux/videodev2.h> (104 bytes, stable kernel ABI).
    struct Capability {
        var driver: (UInt64, UInt64) = (0, 0)
        var card: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var busInfo: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var version: UInt32 = 0
        var capabilities: UInt32 = 0
        var deviceCaps: UInt32 = 0
        var reserved: (UInt32, UInt32, UInt32) = (0, 0, 0)
    }

    static let capVideoCapture: UInt32 = 0x0000_0001
    static let capDeviceCaps: UInt32 = 0x8000_0000
    /// `_IOR('V', 0, struct v4l2_capability)`: direction read (2) << 30 | size << 16 | 'V' << 8 | 0.
    static let queryCapRequest = UInt(2) << 30 | UInt(MemoryLayout<Capability>.size) << 16 | UInt(UInt8(ascii: "V")) << 8

    func capture() async throws -> Data {
        let device = device
        try await BlockingWork.run { try Self.checkCaptureDevice(device) }
        throw AgentError(.capture, "V4L2 frame streaming is not implemented in this build; use a command camera", path: device)
    }

    /// Opens `device` and checks that it can capture video. Throws `AgentError.capture`.
    static func checkCaptureDevice(_ device: String) throws {
        let fd = open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw AgentError(.capture, "cannot open the video device: \(String(cString: strerror(errno)))", path: device)
        }
        defer { close(fd) }
        var capability = Capability()
        guard ioctl(fd, queryCapRequest, &capability) == 0 else {
            throw AgentError(.capture, "not a V4L2 device (VIDIOC_QUERYCAP: \(String(cString: strerror(errno))))", path: device)
        }
        let caps = capability.capabilities & capDeviceCaps != 0 ? capability.deviceCaps : capability.capabilities
        guard caps & capVideoCapture != 0 else {
            throw AgentError(.capture, "the device cannot capture video (it may be a metadata or output node)", path: device)
        }
    }
}
