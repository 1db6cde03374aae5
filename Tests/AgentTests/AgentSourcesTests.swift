import Foundation
import Testing
@testable import Agent

@Suite("Capture and digests")
struct AgentSourcesTests {
    @Test func sha256MatchesTheFIPSVector() {
        #expect(ContentDigest.sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func idempotencyKeyDependsOnEveryPart() {
        let base = ContentDigest.idempotencyKey(imageDigest: "i", prompt: "p", modelDigest: "m")
        #expect(base == ContentDigest.idempotencyKey(imageDigest: "i", prompt: "p", modelDigest: "m"))
        #expect(base != ContentDigest.idempotencyKey(imageDigest: "i", prompt: "p", modelDigest: "m2"))
        #expect(base != ContentDigest.idempotencyKey(imageDigest: "ip", prompt: "", modelDigest: "m"))
    }

    @Test func commandCaptureReturnsTheJPEG() async throws {
        let capture = CommandCapture(command: ["/bin/sh", "-c", "printf '\\377\\330\\377\\340rest'"], timeoutSeconds: 5, source: "t")
        let data = try await capture.capture()
        #expect(data == Data([0xff, 0xd8, 0xff, 0xe0]) + Data("rest".utf8))
    }

    @Test func hangingCommandIsKilledAtTheTimeout() async throws {
        // Timed on the blocking call itself: across an await the clock would also count the time
        // a busy test run keeps the cooperative pool from resuming this task.
        let start = ContinuousClock.now
        let error = try #require(throws: AgentError.self) {
            try CommandCapture.runBlocking(command: ["/bin/sleep", "30"], timeoutSeconds: 0.5)
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(error.kind == .capture && error.message.contains("killed"))
        // And through the async entry point the agent uses.
        let capture = CommandCapture(command: ["/bin/sleep", "30"], timeoutSeconds: 0.5, source: "t")
        let asyncError = try await #require(throws: AgentError.self) { try await capture.capture() }
        #expect(asyncError.message.contains("killed"))
    }

    @Test func commandWritingSomethingElseIsACaptureError() async throws {
        let capture = CommandCapture(command: ["/bin/echo", "hello"], timeoutSeconds: 5, source: "t")
        let error = try await #require(throws: AgentError.self) { try await capture.capture() }
        #expect(error.message.contains("did not write a JPEG"))
    }

    @Test func failingCommandReportsItsStatus() async throws {
        let capture = CommandCapture(command: ["/bin/false"], timeoutSeconds: 5, source: "t")
        let error = try await #require(throws: AgentError.self) { try await capture.capture() }
        #expect(error.message.contains("status 1"))
    }

    @Test func v4l2ReportsAMissingDevice() throws {
        let error = try #require(throws: AgentError.self) { try V4L2Capture.checkCaptureDevice("/dev/video-edgevlm-absent") }
        #expect(error.kind == .capture && error.path == "/dev/video-edgevlm-absent")
        #expect(error.message.contains("cannot open"))
    }

    @Test func v4l2RejectsANonVideoDevice() throws {
        let error = try #require(throws: AgentError.self) { try V4L2Capture.checkCaptureDevice("/dev/null") }
        #expect(error.message.contains("not a V4L2 device"))
    }

    @Test func v4l2CaptureNamesTheDeviceAndTheStep() async throws {
        let absent = V4L2Capture(device: "/dev/video-edgevlm-absent", width: 640, height: 480, timeoutSeconds: 1, source: "t")
        let error = try await #require(throws: AgentError.self) { try await absent.capture() }
        #expect(error.kind == .capture && error.path == "/dev/video-edgevlm-absent" && error.message.contains("cannot open"))
        let notVideo = V4L2Capture(device: "/dev/null", width: 640, height: 480, timeoutSeconds: 1, source: "t")
        let second = try await #require(throws: AgentError.self) { try await notVideo.capture() }
        #expect(second.message.contains("VIDIOC_QUERYCAP"))
    }

    @Test func v4l2CapabilityMatchesTheKernelABI() {
        #expect(MemoryLayout<V4L2Capture.Capability>.size == 104)
        #expect(V4L2Capture.queryCapRequest == 0x8068_5600)  // VIDIOC_QUERYCAP from <linux/videodev2.h>
    }
}
