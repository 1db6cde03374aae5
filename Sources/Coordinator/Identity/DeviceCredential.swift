/// A device's bearer credential: `<device id>.<secret>`. The coordinator stores only the
/// SHA-256 of the whole credential, so a database leak does not hand out credentials.
public struct DeviceCredential: Sendable, Equatable {
    public var deviceID: String
    public var secret: String

    /// A fresh credential for `deviceID`.
    public static func issue(for deviceID: String) -> DeviceCredential {
        DeviceCredential(deviceID: deviceID, secret: Digests.hex(Secrets.randomBytes(32)))
    }

    public init(deviceID: String, secret: String) {
        self.deviceID = deviceID
        self.secret = secret
    }

    /// Parses `<device id>.<secret>`; nil when malformed.
    public init?(parsing text: String) {
        guard let dot = text.firstIndex(of: "."), dot != text.startIndex else { return nil }
        let id = String(text[..<dot]), secret = String(text[text.index(after: dot)...])
        guard !secret.isEmpty, id.utf8.count <= 64, secret.utf8.count <= 128 else { return nil }
        self.init(deviceID: id, secret: secret)
    }

    /// The string a device sends as its bearer token.
    public var text: String { "\(deviceID).\(secret)" }
    /// What the store keeps.
    public var hash: String { Digests.sha256Hex(text) }
}
