import Foundation
import Testing
@testable import Agent

@Suite("Agent configuration")
struct AgentConfigurationTests {
    static var repositoryRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @Test func exampleFileStatesTheDefaults() throws {
        let parsed = try AgentConfiguration.load(path: Self.repositoryRoot.appendingPathComponent("systemd/agent.example.toml").path)
        var defaults = AgentConfiguration()
        defaults.inbox.directory = "/var/lib/edgevlm/inbox"
        #expect(parsed == defaults)
    }

    @Test func emptyFileGivesDefaultsWithInboxUnderState() throws {
        let parsed = try AgentConfiguration.parse(toml: "[state]\ndirectory = \"/srv/e\"\n")
        #expect(parsed.inbox.directory == "/srv/e/inbox" && parsed.inbox.failedDirectory == "/srv/e/failed")
        #expect(parsed.databasePath == "/srv/e/queue.sqlite")
        #expect(parsed.queue.leaseSeconds == 60 && parsed.api.mode == 0o660)
    }

    @Test(arguments: [
        ("[queue]\nmax_atempts = 3\n", "queue.max_atempts"),
        ("[nonsense]\nx = 1\n", "nonsense"),
        ("[worker]\nconcurrency = 0\n", "worker.concurrency"),
        ("[worker]\nconcurrency = \"two\"\n", "worker.concurrency"),
        ("[api]\nmode = \"999\"\n", "api.mode"),
        ("[sync]\nenabled = true\n", "sync.coordinator"),
        ("[sync]\nenabled = true\ncoordinator = \"h:1\"\n", "sync.ca_file"),
        ("[sync]\nbatch_size = 0\n", "sync.batch_size"),
        ("[[camera]]\nname = \"c\"\nkind = \"usb\"\n", "camera.c.kind"),
        ("[[camera]]\nname = \"c\"\nkind = \"http\"\nurl = \"ftp://x\"\n", "camera.c.url"),
        ("[[camera]]\nname = \"c\"\nkind = \"command\"\n", "camera.c.command"),
        ("[[camera]]\nname = \"c\"\nkind = \"command\"\ncommand = [\"/bin/true\"]\nfps = 3\n", "camera[0].fps"),
        ("[[camera]]\nkind = \"v4l2\"\n", "camera[0].name"),
        ("[models]\nhealth_max_failure_rate = 1.5\n", "models.health_max_failure_rate"),
        ("[models]\nhealth_jobs = 0\n", "models.health_jobs"),
    ])
    func rejectsBadInputNamingTheKey(text: String, key: String) throws {
        let error = try #require(throws: AgentError.self) { try AgentConfiguration.parse(toml: text) }
        #expect(error.kind == .configuration)
        #expect(error.key == key)
    }

    @Test func parsesTheHealthWindowKeys() throws {
        let parsed = try AgentConfiguration.parse(toml: """
            [models]
            health_jobs = 12
            health_seconds = 90
            health_min_jobs = 3
            health_max_failure_rate = 0.1
            health_max_fallback_rate = 0.3
            """)
        let window = parsed.models.healthWindow(openedAt: Date(timeIntervalSince1970: 5))
        #expect(window == HealthWindow(jobs: 12, seconds: 90, minJobs: 3, maxFailureRate: 0.1, maxFallbackRate: 0.3,
                                       openedAt: Date(timeIntervalSince1970: 5)))
    }

    @Test func rejectsMalformedTOML() throws {
        let error = try #require(throws: AgentError.self) { try AgentConfiguration.parse(toml: "[queue\n") }
        #expect(error.message.contains("not valid TOML"))
    }

    @Test func parsesCameras() throws {
        let parsed = try AgentConfiguration.parse(toml: """
            [[camera]]
            name = "door"
            kind = "command"
            command = ["/usr/bin/libcamera-still", "-o", "-"]
            interval_seconds = 0
            [[camera]]
            name = "yard"
            url = "https://cam/snap.jpg"
            timeout_seconds = 3
            """)
        #expect(parsed.cameras.map(\.name) == ["door", "yard"])
        #expect(parsed.cameras[0].kind == .command && parsed.cameras[0].intervalSeconds == 0)
        #expect(parsed.cameras[1].kind == .http && parsed.cameras[1].timeoutSeconds == 3)
    }
}
