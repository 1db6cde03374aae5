import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// What the sync service tells the coordinator about the model store: both slots in heartbeats,
/// and queued rollout states (`RolloutReportOutbox`) through `ReportRolloutStatus`.
enum ModelSlotsReport {
    /// Both slots with their digests when the store has a model, else the one configured model
    /// the engine runs (`runningDigest`) as slot A.
    static func slots(modelsDirectory: String, runningDigest: String) -> [FleetSlotStatus] {
        guard let store = try? ModelStore(root: modelsDirectory),
              ModelStore.Slot.allCases.contains(where: { store.record(of: $0) != nil }) else {
            var slot = FleetSlotStatus()
            slot.slot = "A"
            slot.modelDigest = runningDigest
            slot.active = true
            return [slot]
        }
        let active = store.activeSlot()
        return ModelStore.Slot.allCases.map { name in
            var slot = FleetSlotStatus()
            slot.slot = name.rawValue
            slot.modelDigest = store.record(of: name)?.modelDigest ?? ""
            slot.active = name == active
            return slot
        }
    }

    /// Sends the queued rollout state, if any, and marks it delivered. Throws gRPC transport
    /// errors (the sync session retries with backoff; the report stays queued); a report the
    /// coordinator refuses is dropped.
    static func deliverPending(_ client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, deviceID: String, auth: Metadata,
                               options: CallOptions, modelsDirectory: String) async throws {
        guard let draft = RolloutReportOutbox.pending(in: modelsDirectory) else { return }
        var report = Edgevlm_Fleet_V1_RolloutStatusReport()
        report.deviceID = deviceID
        report.rolloutID = draft.rolloutID
        report.modelDigest = draft.modelDigest
        report.state = draft.state
        report.reason = draft.reason
        do {
            _ = try await client.reportRolloutStatus(report, metadata: auth, options: options)
        } catch let error as RPCError where ![.unavailable, .deadlineExceeded, .cancelled].contains(error.code) {
            // The coordinator refused this report (e.g. the rollout is gone): retrying cannot
            // help and must not stall the sync session.
            try RolloutReportOutbox.markDelivered(draft, in: modelsDirectory)
            return
        }
        try RolloutReportOutbox.markDelivered(draft, in: modelsDirectory)
    }
}
