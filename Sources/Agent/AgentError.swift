/// The one error type of the `Agent` module: what failed and where (config key, file, source,
/// job), with a message a person can act on.
public struct AgentError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The configuration file is missing, malformed, has an unknown key or a bad value.
        case configuration
        /// No model is configured, or the caption engine cannot be loaded.
        case engineUnavailable
        /// Another agent already runs on this state directory.
        case alreadyRunning
        /// A camera capture failed (device, URL, command).
        case capture
        /// An image could not be read or is not an image.
        case badImage
        /// A file-system or socket operation failed.
        case io
        /// The local API answered with an error or could not be reached.
        case api
        /// A model update was refused or failed for good: signature, digest, assembly, canary,
        /// disk space, or a download the server refused (4xx). Not retried for that model.
        case modelUpdate
        /// A model download broke on the way (link down, stall, 5xx): retried and resumed.
        case transfer
    }

    public var kind: Kind
    public var message: String
    /// The configuration key involved, as `table.key`.
    public var key: String?
    /// The file, device or socket involved.
    public var path: String?

    public init(_ kind: Kind, _ message: String, key: String? = nil, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.key = key
        self.path = path
    }

    public var description: String {
        var text = "agent: \(message)"
        if let key { text += " (key \(key))" }
        if let path { text += " [\(path)]" }
        return text
    }
}
