import FleetProtocol
import Foundation
import Testing
@testable import Agent

/// The rolled-back rule: the same model in the same rollout is not applied again; a new rollout
/// of it is; activating it (operator or rollout) clears it.
@Suite("Rolled-back models")
struct RolledBackModelsTests {
    static func assignment(_ digest: String, rollout: String) -> FleetModelAssignment {
        var assignment = FleetModelAssignment()
        assignment.modelDigest = digest
        assignment.rolloutID = rollout
        return assignment
    }

    @Test func theSameRolloutIsBlockedANewOneIsNot() throws {
        let models = try ModelUpdateFixtures.temporaryDirectory("rolledback")
        #expect(!RolledBackModels.blocks(Self.assignment("d1", rollout: "r1"), in: models))
        try RolledBackModels.insert("d1", rolloutID: "r1", in: models)
        try RolledBackModels.insert("d2", rolloutID: "r1", in: models)
        #expect(RolledBackModels.blocks(Self.assignment("d1", rollout: "r1"), in: models))
        #expect(!RolledBackModels.blocks(Self.assignment("d1", rollout: "r2"), in: models), "a new rollout of the model is tried again")
        #expect(!RolledBackModels.blocks(Self.assignment("d3", rollout: "r1"), in: models))
        try RolledBackModels.clear("d1", in: models)
        #expect(!RolledBackModels.blocks(Self.assignment("d1", rollout: "r1"), in: models))
        #expect(RolledBackModels.entries(in: models) == [.init(modelDigest: "d2", rolloutID: "r1")])
    }

    @Test func anOldListOfDigestsBlocksEveryRolloutUntilCleared() throws {
        let models = try ModelUpdateFixtures.temporaryDirectory("rolledback")
        try Data(#"["d1"]"#.utf8).write(to: URL(fileURLWithPath: models + "/rolled-back.json"))
        #expect(RolledBackModels.blocks(Self.assignment("d1", rollout: "r9"), in: models))
        try RolledBackModels.clear("d1", in: models)
        #expect(RolledBackModels.entries(in: models).isEmpty)
    }

    /// A new rollout that switches to a model rolled back earlier clears its entries.
    @Test func switchingToTheModelClearsIt() async throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("updater")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm", "demo-mmproj"])
        var assignment = try ModelUpdaterTests.assignment(llm: "demo-llm")
        try RolledBackModels.insert(assignment.modelDigest, rolloutID: "r0", in: root)
        try RolledBackModels.insert("other", rolloutID: "r0", in: root)
        assignment.rolloutID = "r1"
        try await ModelUpdaterTests.updater(root, blobs: blobs, reports: ModelUpdaterTests.Reports()).apply(assignment)
        #expect(RolledBackModels.entries(in: root) == [.init(modelDigest: "other", rolloutID: "r0")])
    }
}
