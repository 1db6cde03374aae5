import GRPCCore

/// How credentials ride on a call: metadata `authorization: Bearer <secret>` (over TLS).
public enum FleetAuthorization {
    /// The metadata key (lowercase, as HTTP/2 requires).
    public static let metadataKey = "authorization"

    /// Metadata carrying `credential` as a bearer token; pass it as `metadata:` on any call.
    public static func metadata(bearer credential: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString("Bearer \(credential)", forKey: metadataKey)
        return metadata
    }

    /// The bearer token in `metadata`, or nil when absent or not a bearer token.
    public static func bearerToken(in metadata: Metadata) -> String? {
        for value in metadata[stringValues: metadataKey] {
            let prefix = "Bearer "
            if value.hasPrefix(prefix) { return String(value.dropFirst(prefix.count)) }
        }
        return nil
    }
}
