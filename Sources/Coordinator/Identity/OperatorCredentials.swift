import Foundation

/// Operator identities: name → SHA-256 of the operator's bearer token, kept in
/// `<state>/operators.json` (mode 0600). At first start an `admin` operator is created and its
/// token written once to `<state>/admin.token` (0600) for the person who set the server up.
public struct OperatorCredentials: Sendable {
    public private(set) var tokenHashes: [String: String]

    public init(tokenHashes: [String: String]) {
        self.tokenHashes = tokenHashes
    }

    /// The operator whose token is `token`, nil when none.
    public func operatorName(for token: String) -> String? {
        let hash = Digests.sha256Hex(token)
        var match: String?
        // Check every entry so timing does not depend on which one matched.
        for (name, expected) in tokenHashes.sorted(by: { $0.key < $1.key }) where Secrets.constantTimeEqual(hash, expected) {
            match = name
        }
        return match
    }

    /// Loads `<stateDirectory>/operators.json`, creating it with a fresh `admin` token when
    /// missing. Throws `.io` when the files cannot be read or written.
    public static func loadOrCreate(stateDirectory: URL) throws -> OperatorCredentials {
        let file = stateDirectory.appendingPathComponent("operators.json")
        if FileManager.default.fileExists(atPath: file.path) {
            do {
                let hashes = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: file))
                return OperatorCredentials(tokenHashes: hashes)
            } catch {
                throw CoordinatorError(.io, "cannot read operator credentials: \(error)", context: file.path)
            }
        }
        let token = Secrets.token(prefix: "op_")
        let credentials = OperatorCredentials(tokenHashes: ["admin": Digests.sha256Hex(token)])
        do {
            try writePrivate(JSONEncoder().encode(credentials.tokenHashes), to: file)
            try writePrivate(Data((token + "\n").utf8), to: stateDirectory.appendingPathComponent("admin.token"))
        } catch {
            throw CoordinatorError(.io, "cannot write operator credentials: \(error)", context: file.path)
        }
        return credentials
    }

    /// Writes `data` to `url` readable by the owner only.
    static func writePrivate(_ data: Data, to url: URL) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}
