import ArgumentParser
import Coordinator
import Crypto
import FleetProtocol
import Foundation
import GRPCCore

/// `edgevlm-coordinator models`: publishing models (issue 9). `models list` lives with the
/// rollout commands.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Publish and list signed models for rollouts.",
        subcommands: [ModelsPublishCommand.self, ModelsKeygenCommand.self, ModelsListCommand.self])
}

/// `models publish`: builds the manifest (file and per-tensor SHA-256), uploads both files as
/// blobs, signs the manifest with the operator's Ed25519 key and registers it. Prints the
/// model digest alone on stdout (for `rollouts create`).
struct ModelsPublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Upload, sign and register an LLM + mmproj GGUF pair; prints the model digest.")

    @OptionGroup var connection: OperatorConnection

    @Option(help: "The LLM GGUF file.") var llm: String
    @Option(help: "The vision projector (mmproj) GGUF file.") var mmproj: String
    @Option(help: "File holding the operator's Ed25519 private key (base64 of the raw 32 bytes, as `models keygen` writes).")
    var key: String
    @Option(help: "Model name.") var name: String = "model"
    @Option(help: "Model version.") var version: String = "1"
    @Option(name: .customLong("assignment-out"),
            help: "Also write the model's assignment (protobuf JSON) here, for `edgevlm models pull --assignment` on a device.")
    var assignmentOut: String?

    func run() async throws {
        guard let keyText = try? String(contentsOfFile: key, encoding: .utf8),
              let raw = Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines)),
              let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ValidationError("cannot read an Ed25519 private key (base64 of 32 bytes) from \(key)")
        }
        let manifest = try ModelSigning.manifest(name: name, version: version, llm: URL(fileURLWithPath: llm),
                                                 mmproj: URL(fileURLWithPath: mmproj),
                                                 now: Int64(Date().timeIntervalSince1970 * 1000))
        let signed = try ModelSigning.sign(manifest, with: privateKey)
        let model = try await connection.withOperator { client, metadata in
            for (path, file) in zip([llm, mmproj], manifest.files) {
                let info = try await client.uploadBlob(metadata: metadata, requestProducer: { writer in
                    guard let handle = FileHandle(forReadingAtPath: path) else {
                        throw ValidationError("cannot read \(path)")
                    }
                    defer { try? handle.close() }
                    var first = true
                    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
                        var chunk = Edgevlm_Fleet_V1_BlobChunk()
                        chunk.data = data
                        if first { chunk.expectedSha256 = file.sha256 }
                        first = false
                        try await writer.write(chunk)
                    }
                })
                FileHandle.standardError.write(Data("uploaded \(path): \(info.sizeBytes) bytes, sha256 \(info.sha256), \(file.tensors.count) tensor digests\n".utf8))
            }
            var request = Edgevlm_Fleet_V1_RegisterModelRequest()
            request.signedManifest = signed
            return try await client.registerModel(request, metadata: metadata)
        }
        if let assignmentOut {
            var assignment = FleetModelAssignment()
            assignment.modelDigest = model.modelDigest
            assignment.signedManifest = signed
            for file in manifest.files { assignment.artifactPaths[file.sha256] = "/v1/blobs/" + file.sha256 }
            try assignment.jsonUTF8Data().write(to: URL(fileURLWithPath: assignmentOut))
        }
        print(model.modelDigest)
    }
}

/// `models keygen`: a new operator signing key. Writes the private key (base64, mode 0600) and
/// prints the public key (base64) for the coordinator's `trustedModelKeys` and the devices'
/// `[models] trusted_keys`.
struct ModelsKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Create an Ed25519 model-signing key; prints its public key.")

    @Option(help: "Where to write the private key (must not exist).") var out: String

    func run() throws {
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) already exists") }
        let key = Curve25519.Signing.PrivateKey()
        guard FileManager.default.createFile(atPath: out, contents: Data(key.rawRepresentation.base64EncodedString().utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(out)")
        }
        print(key.publicKey.rawRepresentation.base64EncodedString())
    }
}
