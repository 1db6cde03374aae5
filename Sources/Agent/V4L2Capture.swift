import CV4L2
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `kind = "v4l2"`: a Video4Linux2 capture device delivering MJPEG.
///
/// Each tick opens the device, asks for MJPEG at the configured size, streams through
/// memory-mapped buffers (the `CV4L2` shim over the kernel's own header), skips a few frames so
/// auto exposure settles, and keeps the next good one; the device is released between ticks so
/// other programs can use it. Every failure (no device, not a capture node, no MJPEG, no frame
/// within the timeout) is a capture error naming the device and the step.
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

    /// Frames skipped before the kept one (auto exposure and white balance settle).
    static let warmupFrames: UInt32 = 3

    func capture() async throws -> Data {
        let device = device, width = width, height = height
        let timeout = Int32(clamping: Int(timeoutSeconds * 1000))
        return try await BlockingWork.run { try Self.grab(device: device, width: width, height: height, timeoutMilliseconds: timeout) }
    }

    /// One MJPEG frame from `device`. Throws `AgentError.capture` naming the failed step.
    static func grab(device: String, width: Int, height: Int, timeoutMilliseconds: Int32) throws -> Data {
        var frame: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { buffer in
            cv4l2_grab_mjpeg(device, UInt32(clamping: width), UInt32(clamping: height), 4, warmupFrames,
                             timeoutMilliseconds, &frame, &length, buffer.baseAddress, buffer.count)
        }
        defer { free(frame) }
        guard status == 0, let frame else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw AgentError(.capture, text.isEmpty ? "V4L2 capture failed" : text, path: device)
        }
        let data = Data(bytes: frame, count: length)
        guard JPEGCheck.looksLikeJPEG(data) else {
            throw AgentError(.capture, "the device's MJPEG frame does not start like a JPEG (\(length) bytes)", path: device)
        }
        return data
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
