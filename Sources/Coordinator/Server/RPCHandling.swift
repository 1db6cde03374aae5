import GRPCCore
import Logging

extension CoordinatorCore {
    /// Runs a handler body: times it for `/metrics`, turns `CoordinatorError` into the matching
    /// gRPC status, and logs internal failures with their details.
    func handle<T: Sendable>(_ method: String, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.observe(method: method, seconds: seconds)
        }
        do {
            return try await body()
        } catch let error as CoordinatorError {
            if error.rpcError.code == .internalError {
                logger.error("\(method) failed: \(error)")
            }
            throw error.rpcError
        } catch let error as RPCError {
            throw error
        } catch {
            logger.error("\(method) failed: \(error)")
            throw RPCError(code: .internalError, message: "internal error (see coordinator log)")
        }
    }
}
