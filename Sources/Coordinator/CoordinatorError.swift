/// The one error type of the `Coordinator` module: what failed and where (SQL, device, rollout,
/// file), with a message an operator can act on.
public struct CoordinatorError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Broad class of the failure; servers map it to a gRPC or HTTP status.
    public enum Kind: String, Sendable {
        case database, notFound, alreadyExists, invalidArgument, unauthenticated, permissionDenied
        case failedPrecondition, configuration, io, signature
    }

    public var kind: Kind
    public var message: String
    /// Where: an SQL statement, a device id, a rollout id, a file path...
    public var context: String

    public init(_ kind: Kind, _ message: String, context: String = "") {
        self.kind = kind
        self.message = message
        self.context = context
    }

    public var description: String {
        context.isEmpty ? "\(kind.rawValue): \(message)" : "\(kind.rawValue): \(message) [\(context)]"
    }
}
