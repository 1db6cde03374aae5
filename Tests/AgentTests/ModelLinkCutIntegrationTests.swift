import Agent
import FleetProtocol
import Foundation
import Testing

/// Link cuts during a model download, in a network namespace the test makes (issue 9 fault
/// tests): the agent test host runs in its own namespace and reaches the real coordinator over
/// a veth pair; the test takes the link down at ~30 %, ~60 % and ~99 % of the download and up
/// again. The agent must resume each time (bytes that crossed the link ≈ one model), end on the
/// complete verified model, and the coordinator's view (rollout state, heartbeat slots) must
/// match the device. Skipped, with the reason shown, where namespaces cannot be made.
@Suite("Model download across link cuts (network namespace)", .serialized)
struct ModelLinkCutIntegrationTests {
    typealias H = SyncProcessHarness

    /// Bytes of every staged file (parts and finished blobs), what the device has so far.
    static func stagedBytes(_ staging: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
        return names.filter { !$0.hasSuffix(".json") && !$0.hasPrefix(".") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: staging + "/" + name)[.size] as? Int64) ?? 0)
        }
    }

    static func servedBytes(httpPort: Int) -> Int64? {
        guard let url = URL(string: "http://127.0.0.1:\(httpPort)/metrics"), let text = try? String(contentsOf: url, encoding: .utf8)
        else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("edgevlm_blob_bytes_served_total") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int64($0) }
    }

    @Test(.enabled(if: NetworkNamespaceLink.available,
                   "SKIPPED: cannot make network namespaces here (needs root and iproute2's `ip netns`)"))
    func cutsAtThirtySixtyAndNinetyNinePercentResumeAndEndVerified() async throws {
        let root = try H.temporaryDirectory("netns")
        defer { try? FileManager.default.removeItem(at: root) }
        let link = try NetworkNamespaceLink()
        defer { link.remove() }
        let key = try #require(ModelRolloutIntegrationTests.operatorKey)
        // 3 Mbit/s on the link: the 4.7 MB pair takes ~13 s, so each cut lands mid-download. (A
        // rate limit in the agent would not do: the server fills the device's receive buffer,
        // and a cut would only stop bytes the device already holds.)
        try link.limit(kilobitsPerSecond: 3000)
        // Counted from before the set-up: the download starts as soon as the rollout exists,
        // inside `setUp`, and on a loaded machine a tenth of the model had crossed before a
        // count taken after it (so "98 %" was never reached and the total looked too small).
        let linkBefore = link.txBytes
        let (coordinator, agent, rollout) = try await ModelRolloutIntegrationTests.setUp(
            root: root, signer: key, extraModels: "stall_seconds = 1\nmax_attempts = 3", link: link)
        defer { coordinator.stop() }
        defer { agent.stop() }
        let log = { (try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "" }
        let store = try ModelStore(stateDirectory: agent.state.path)
        let llm = try #require(FileManager.default.contents(atPath: ModelUpdateFixtures.demoLLM))
        let mmproj = try #require(FileManager.default.contents(atPath: ModelUpdateFixtures.demoMMProj))
        let full = Int64(llm.count + mmproj.count)

        var cutAt: [Int64] = []
        for fraction in [0.30, 0.60, 0.98] {
            // Cut on the bytes that crossed the link (headers included), not on what the device
            // has written: staged bytes lag behind the socket buffer, and on a loaded machine the
            // last 2 % arrived between the poll and the cut. Payload that crossed the link is at
            // most `crossed`, so a cut below `full` leaves the download unfinished by construction.
            let crossed = { link.txBytes - linkBefore }
            let target = Int64(Double(full) * fraction)
            if fraction > 0.9 {
                // Slow the link to 0.8 Mbit/s from 90 % on, so the poll and the `ip link set
                // down` (a process spawn, slow under load) land well before the end.
                _ = await H.eventually(120) { crossed() >= Int64(Double(full) * 0.90) }
                try link.limit(kilobitsPerSecond: 800)
            }
            let reached = await H.eventually(120) { crossed() >= target }
            try link.cut()
            #expect(reached, "download did not reach \(fraction) before the cut; log: \(log())")
            // Hold the cut until the device has drained what its socket buffered and the stall
            // timeout (1 s) dropped the connection: nothing staged for 2.5 s. A short cut is
            // simply bridged by TCP.
            var last = Self.stagedBytes(store.stagingDirectory), quietSince = ContinuousClock.now
            let holdDeadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now - quietSince < .seconds(2.5), ContinuousClock.now < holdDeadline {
                try await Task.sleep(for: .milliseconds(100))
                let now = Self.stagedBytes(store.stagingDirectory)
                if now != last { last = now; quietSince = ContinuousClock.now }
            }
            let staged = Self.stagedBytes(store.stagingDirectory)
            cutAt.append(staged)
            #expect(staged < full, "the cut at \(fraction) landed after the download finished (\(crossed()) bytes crossed)")
            try link.heal()
        }

        // Resumed to the end: verified, installed, switched; the agent stops to restart on it.
        let switched = await H.eventually(60) { store.activeModel()?.record.modelDigest == rollout.modelDigest && !agent.isRunning }
        #expect(switched, "log: \(log())")
        let active = try #require(store.activeModel())
        #expect(FileManager.default.contents(atPath: active.llmPath) == llm)
        #expect(FileManager.default.contents(atPath: active.mmprojPath) == mmproj)
        let linkBytes = link.txBytes - linkBefore
        let served = Self.servedBytes(httpPort: coordinator.httpPort) ?? -1
        print("link cuts at staged bytes \(cutAt) of \(full): \(linkBytes) bytes crossed the link "
              + "(\(String(format: "%.3f", Double(linkBytes) / Double(full)))x the model, IP headers and sync included); "
              + "blob bytes requested (ranges) \(served)")
        // Starting a file over after a cut would add the bytes staged before it (≥ 1.4 MB of the
        // 4.7 MB at the 30 % cut alone); headers, retransmits, buffered bytes lost with a dropped
        // connection and sync stay well below 12 %.
        #expect(linkBytes >= full)
        // Each resume asks for the rest of its file by range, so more than one model was requested.
        #expect(served > full, "no range request resumed after a cut (the cuts did not break the connection)")
        #expect(Double(linkBytes) < Double(full) * 1.12, "the download started over instead of resuming")

        // As systemd would: restart; the coordinator sees ACTIVE and the slots the device has.
        agent.stop()
        try agent.start()
        let matches = try await H.eventually(30) {
            let detail = try await ModelRolloutIntegrationTests.detail(coordinator, rollout)
            guard detail.devices.contains(where: { $0.state == .active }),
                  let device = try await coordinator.devices().first else { return false }
            let slots = device.lastStatus.slots
            return slots.contains { $0.active && $0.slot == active.slot.rawValue && $0.modelDigest == rollout.modelDigest }
                && slots.filter(\.active).count == 1
        }
        #expect(matches, "log: \(log())")
    }
}
