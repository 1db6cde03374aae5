/// Where each op of a plan runs and why; `Codable` for `--json` output and logs.
public struct PlacementReport: Sendable, Codable, Equatable {
    /// One op's placement.
    public struct Entry: Sendable, Codable, Equatable {
        /// The op's label (e.g. "v.blk.3.ffn_up").
        public var op: String
        public var kind: OpKind
        /// Name of the backend that will run it.
        public var backend: String
        /// Why: which backend claimed it and which declined before it.
        public var reason: String
        /// Backends tried before the chosen one, with why each declined.
        public var declined: [Declined]
        /// Shape bucket the first input must be padded to, when the backend declared buckets.
        public var bucket: [Int]?

        public init(op: String, kind: OpKind, backend: String, reason: String, declined: [Declined], bucket: [Int]?) {
            self.op = op
            self.kind = kind
            self.backend = backend
            self.reason = reason
            self.declined = declined
            self.bucket = bucket
        }
    }

    /// A backend that did not take an op, and why.
    public struct Declined: Sendable, Codable, Equatable {
        public var backend: String
        public var reason: String

        public init(backend: String, reason: String) {
            self.backend = backend
            self.reason = reason
        }
    }

    /// Backend names in priority order (CPU last).
    public var backends: [String]
    public var entries: [Entry]

    public init(backends: [String], entries: [Entry]) {
        self.backends = backends
        self.entries = entries
    }

    /// Number of ops placed on `backend`.
    public func count(on backend: String) -> Int { entries.filter { $0.backend == backend }.count }
}
