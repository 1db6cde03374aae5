/// Random secrets and ids from the system's cryptographic generator (getrandom on Linux).
public enum Secrets {
    /// `count` random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A random token: `prefix` + 32 random bytes as lowercase hex (256 bits).
    public static func token(prefix: String) -> String {
        prefix + Digests.hex(randomBytes(32))
    }

    /// A new device id: "dev_" + 16 random bytes hex.
    public static func deviceID() -> String {
        "dev_" + Digests.hex(randomBytes(16))
    }

    /// Compares two strings in time independent of where they differ (for secret hashes).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
