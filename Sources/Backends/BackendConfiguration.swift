/// One entry of the ordered backend list from configuration (`--backend` values).
///
/// Forms: `cpu`, or `delegate:/path/lib.so` optionally followed by `,key=value` options that
/// are passed to the delegate's `init` verbatim (e.g. `delegate:/opt/npu/libdelegate.so,core=0`).
public enum BackendConfiguration: Sendable, Equatable {
    case cpu
    case delegate(path: String, options: String)

    /// Parses one configuration string.
    /// - Throws: `BackendsError.invalidConfiguration` for anything else.
    public init(parsing text: String) throws(BackendsError) {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "cpu" {
            self = .cpu
            return
        }
        let prefix = "delegate:"
        guard trimmed.hasPrefix(prefix) else {
            throw .invalidConfiguration("'\(text)': expected 'cpu' or 'delegate:/path/lib.so[,key=value...]'")
        }
        let rest = trimmed.dropFirst(prefix.count)
        let path: Substring
        let options: Substring
        if let comma = rest.firstIndex(of: ",") {
            path = rest[..<comma]
            options = rest[rest.index(after: comma)...]
        } else {
            path = rest
            options = ""
        }
        guard !path.isEmpty else { throw .invalidConfiguration("'\(text)': the delegate path is empty") }
        self = .delegate(path: String(path), options: String(options))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
