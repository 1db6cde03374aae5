import ArgumentParser
import FleetProtocol
import Foundation
import SwiftProtobuf

/// `edgevlm-coordinator enrollment-token`: makes a fleet enrollment token (printed alone on
/// stdout, so scripts can capture it).
struct EnrollmentTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrollment-token",
        abstract: "Create an enrollment token that lets new devices join the fleet.")

    @OptionGroup var connection: OperatorConnection

    @Option(name: .customLong("max-uses"), help: "How many devices may enroll with it.")
    var maxUses: UInt32 = 1

    @Option(name: .customLong("ttl"), help: "Lifetime in seconds (0: 24 hours).")
    var ttlSeconds: UInt32 = 0

    @Option(name: .customLong("tag"), help: "Tag given to devices enrolled with it; repeatable.")
    var tags: [String] = []

    func validate() throws {
        guard maxUses >= 1 else { throw ValidationError("--max-uses must be at least 1") }
    }

    func run() async throws {
        var request = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
        request.maxUses = maxUses
        request.ttlSeconds = ttlSeconds
        request.tags = tags
        let response = try await connection.withOperator { client, metadata in
            try await client.createEnrollmentToken(request, metadata: metadata)
        }
        print(response.token)
    }
}

/// `edgevlm-coordinator devices`: the fleet's devices, one JSON object per line.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List devices (JSON lines: id, tags, last seen, status).")

    @OptionGroup var connection: OperatorConnection

    @Option(name: .customLong("tag"), help: "Only devices carrying this tag; repeatable.")
    var tags: [String] = []

    @Option(help: "Maximum devices.")
    var limit: UInt32 = 1000

    func run() async throws {
        var request = Edgevlm_Fleet_V1_ListDevicesRequest()
        request.tags = tags
        request.limit = limit
        let response = try await connection.withOperator { client, metadata in
            try await client.listDevices(request, metadata: metadata)
        }
        for device in response.devices { print(try device.jsonString()) }
    }
}

/// `edgevlm-coordinator results`: stored results, one JSON object per line, oldest first.
struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "Query stored results (JSON lines).")

    @OptionGroup var connection: OperatorConnection

    @Option(help: "Only this device.")
    var device: String = ""

    @Option(help: "Only devices carrying this tag.")
    var tag: String = ""

    @Option(help: "Maximum results.")
    var limit: UInt32 = 1000

    func run() async throws {
        var request = Edgevlm_Fleet_V1_QueryResultsRequest()
        request.deviceID = device
        request.tag = tag
        request.limit = limit
        let response = try await connection.withOperator { client, metadata in
            try await client.queryResults(request, metadata: metadata)
        }
        for result in response.results { print(try result.jsonString()) }
    }
}
