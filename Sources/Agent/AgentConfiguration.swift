import Foundation

/// The agent's whole configuration, read from one TOML file (default `/etc/edgevlm/agent.toml`).
/// Every key and its default is documented in `systemd/agent.example.toml`; parsing is in
/// `AgentConfiguration+TOML.swift`.
public struct AgentConfiguration: Sendable, Equatable {
    /// `[model]`: the model pair and how inference runs.
    public struct Model: Sendable, Equatable {
        /// Path of the language-model GGUF; empty = not configured (the agent refuses to start).
        public var llm: String = ""
        /// Path of the vision projector (mmproj) GGUF.
        public var mmproj: String = ""
        /// Inference threads; 0 = one per core.
        public var threads: Int = 0
        /// Backends in priority order; the CPU is always added last.
        public var backends: [String] = ["cpu"]
        /// Prompt used when a source or submission gives none.
        public var prompt: String = "Describe this image in one sentence."
        /// Upper bound of generated tokens per job.
        public var maxTokens: Int = 256
    }

    /// `[state]`: where the agent keeps its files.
    public struct State: Sendable, Equatable {
        /// The state directory (systemd's StateDirectory): database, stored images, lock file.
        public var directory: String = "/var/lib/edgevlm"
    }

    /// `[queue]`: the durable job queue.
    public struct Queue: Sendable, Equatable {
        /// Jobs waiting or running at which enqueue refuses new work.
        public var maxPendingJobs: Int = 10_000
        /// Attempts before a job is dead-lettered.
        public var maxAttempts: Int = 5
        /// First retry delay in seconds (doubles per attempt, plus up to 20 % jitter).
        public var retryBaseSeconds: Double = 2
        /// Largest retry delay in seconds.
        public var retryMaxSeconds: Double = 600
        /// Lease length in seconds; the worker renews it every third of that.
        public var leaseSeconds: Double = 60
        /// Largest accepted image in bytes; larger inputs are recorded as failed.
        public var maxImageBytes: Int = 20 * 1024 * 1024
        /// Database size cap in MiB (SQLite page limit); 0 = only the disk limits it.
        public var maxDatabaseMiB: Int = 0
    }

    /// `[worker]`
    public struct Worker: Sendable, Equatable {
        /// Jobs run at once (each needs the model's activation memory).
        public var concurrency: Int = 1
        /// Seconds after which a job counts as hung; it fails (retryable).
        public var jobTimeoutSeconds: Double = 300
    }

    /// `[retention]`
    public struct Retention: Sendable, Equatable {
        /// Finished jobs older than this are deleted (hours); 0 = keep forever.
        public var maxAgeHours: Double = 168
        /// Stored images of finished jobs are deleted, oldest first, above this total (MiB); 0 = no cap.
        public var maxImageMiB: Int = 1024
        /// Only delete jobs whose result the coordinator acknowledged.
        public var requireSynced: Bool = false
        /// Seconds between retention passes.
        public var intervalSeconds: Double = 600
    }

    /// `[inbox]`: a directory watched for image files.
    public struct Inbox: Sendable, Equatable {
        public var enabled: Bool = true
        /// Watched directory; files appear here by rename (best) or are written in place.
        public var directory: String = "/var/lib/edgevlm/inbox"
        /// Where taken files go once their job is committed.
        public var processedDirectory: String = "/var/lib/edgevlm/processed"
        /// Where refused files go (too large, empty, unreadable).
        public var failedDirectory: String = "/var/lib/edgevlm/failed"
        /// Prompt for inbox jobs; empty = `model.prompt`.
        public var prompt: String = ""
        /// A file written in place is taken once its size stayed unchanged this long (seconds).
        public var stableSeconds: Double = 1
        /// Source name recorded on its jobs.
        public var source: String = "inbox"
    }

    /// One `[[camera]]` entry.
    public struct Camera: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable { case http, command, v4l2 }
        /// Source name (unique); jobs and `GET /v1/sources/{name}/latest` use it.
        public var name: String = ""
        public var kind: Kind = .http
        /// `http`: snapshot URL (http or https).
        public var url: String = ""
        /// `command`: program and arguments; it must write one JPEG to stdout.
        public var command: [String] = []
        /// `v4l2`: capture device.
        public var device: String = "/dev/video0"
        /// `v4l2`: requested frame size.
        public var width: Int = 1280
        public var height: Int = 720
        /// Seconds between captures; 0 = on demand only (`POST /v1/sources/{name}/capture`).
        public var intervalSeconds: Double = 60
        /// Seconds a capture may take before it is abandoned (command killed).
        public var timeoutSeconds: Double = 10
        /// Prompt for this camera; empty = `model.prompt`.
        public var prompt: String = ""
    }

    /// `[api]`: the local HTTP+JSON API on a Unix socket.
    public struct API: Sendable, Equatable {
        public var enabled: Bool = true
        public var socket: String = "/run/edgevlm/agent.sock"
        /// Socket file mode, octal.
        public var mode: Int = 0o660
        /// Group owning the socket; empty = the agent's own group.
        public var group: String = ""
        /// Largest uploaded image (bytes).
        public var maxUploadBytes: Int = 20 * 1024 * 1024
    }

    /// `[sync]`: enrollment, heartbeats and results upload to the fleet coordinator.
    public struct Sync: Sendable, Equatable {
        public var enabled: Bool = false
        /// The coordinator's gRPC address, `host:port` (a DNS name or an IPv4 address).
        public var coordinator: String = ""
        /// The fleet enrollment token, used once at first start; empty = read `enrollment_token_file`.
        public var enrollmentToken: String = ""
        /// A file holding the enrollment token (keeps the secret out of the config file).
        public var enrollmentTokenFile: String = ""
        /// Stable hardware identity sent at enrollment; empty = `/etc/machine-id`, else the queue's id.
        public var hardwareID: String = ""
        /// Display name sent at enrollment; empty = none.
        public var deviceName: String = ""
        /// PEM file of the CA (or the certificate itself) the coordinator's TLS certificate must chain to.
        public var caFile: String = ""
        /// Talk gRPC without TLS (loopback development and tests only).
        public var insecurePlaintext: Bool = false
        /// Results per upload call (the coordinator refuses batches over its own limit, 1000 by default).
        public var batchSize: Int = 100
        /// Heartbeat interval until the coordinator chooses one (seconds).
        public var pollIntervalSeconds: Double = 60
        /// New results wake the uploader early, but at most once per this many seconds.
        public var minUploadIntervalSeconds: Double = 5
        /// First retry delay when the coordinator is unreachable (seconds); doubles per failure, full jitter.
        public var backoffBaseSeconds: Double = 1
        /// Largest retry delay when the coordinator is unreachable (seconds).
        public var backoffMaxSeconds: Double = 300
        /// Retry delay after the coordinator refused the credential (revoked device), seconds.
        public var refusedRetrySeconds: Double = 3600
        /// Deadline of one call to the coordinator (seconds).
        public var requestTimeoutSeconds: Double = 30
        /// Local-time windows for result uploads, `"HH:MM-HH:MM"` (may wrap midnight, e.g.
        /// `"22:00-06:00"`); empty = always. Outside them only heartbeats are sent and results
        /// wait in the outbox.
        public var windows: [String] = []
        /// A metered link: smaller, rarer result batches, and model downloads only inside a window.
        public var metered: Bool = false
    }

    /// `[models]`: model updates from the coordinator (issue 9).
    public struct Models: Sendable, Equatable {
        /// The coordinator's artifact server, e.g. "http://fleet.example.com:7080".
        public var artifactURL: String = ""
        /// Ed25519 public keys (base64 or hex of the raw 32 bytes) whose signed models are accepted.
        public var trustedKeys: [String] = []
        /// Free space kept on the state file system for the job queue; a model that would eat
        /// into it is refused before downloading.
        public var minFreeMiB: Int = 256
        /// Download rate limit, KiB/s (0: none).
        public var bandwidthKiBPerSecond: Int = 0
        /// A download delivering nothing for this long is retried from where it stopped.
        public var stallSeconds: Double = 30
        /// Consecutive failed attempts per file before the update is given up (until the next assignment poll).
        public var maxAttempts: Int = 8
        /// Canary set (JSON, see `CanarySet`); "" runs no canary.
        public var canaryFile: String = ""
        /// Health window after a switch (`HealthWindow`): it closes healthy after this many jobs...
        public var healthJobs: Int = 20
        /// ...or this many seconds after the switch.
        public var healthSeconds: Double = 3600
        /// Jobs seen before the rates are judged.
        public var healthMinJobs: Int = 5
        /// Share of failed jobs (0...1) above which the agent switches back.
        public var healthMaxFailureRate: Double = 0.2
        /// Share of jobs with accelerator fallbacks (0...1) above which the agent switches back.
        public var healthMaxFallbackRate: Double = 0.5

        /// A fresh health window with these settings, opened at `now`.
        public func healthWindow(openedAt now: Date = Date()) -> HealthWindow {
            HealthWindow(jobs: healthJobs, seconds: healthSeconds, minJobs: healthMinJobs, maxFailureRate: healthMaxFailureRate,
                         maxFallbackRate: healthMaxFallbackRate, openedAt: now)
        }
    }

    public var model = Model()
    public var models = Models()
    public var state = State()
    public var queue = Queue()
    public var worker = Worker()
    public var retention = Retention()
    public var inbox = Inbox()
    public var cameras: [Camera] = []
    public var api = API()
    public var sync = Sync()

    public init() {}

    /// The queue database inside the state directory.
    public var databasePath: String { state.directory + "/queue.sqlite" }
    /// Where camera frames are stored.
    public var imagesDirectory: String { state.directory + "/images" }
    /// Lock file that keeps a second agent off the same state.
    public var lockPath: String { state.directory + "/agent.lock" }
    /// Sync's files: identity (device id + credential), desired model, time floor.
    public var syncDirectory: String { state.directory + "/sync" }
    /// The A/B model store (`ModelStore`).
    public var modelsDirectory: String { state.directory + "/models" }
}
