@testable import Coordinator
import Crypto
import FleetProtocol
import Foundation
import Testing

/// Small pieces: credentials, byte ranges, export quoting, HTML escaping, signing, TLS material.
@Suite("Coordinator pieces")
struct PiecesTests {
    @Test func deviceCredentialRoundTripAndRejects() throws {
        let credential = DeviceCredential.issue(for: "dev_ab")
        let parsed = try #require(DeviceCredential(parsing: credential.text))
        #expect(parsed == credential && parsed.hash == Digests.sha256Hex(credential.text))
        #expect(credential.secret.count == 64)
        #expect(DeviceCredential(parsing: "nodot") == nil)
        #expect(DeviceCredential(parsing: ".secret") == nil)
        #expect(DeviceCredential(parsing: "dev.") == nil)
        #expect(DeviceCredential.issue(for: "x").secret != DeviceCredential.issue(for: "x").secret)
    }

    /// Results are acknowledged after their commit and then deleted on the device, so a commit
    /// must survive a power loss: WAL with synchronous=FULL (2), not NORMAL.
    @Test func sqliteStoreCommitsDurably() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: directory.appendingPathComponent("c.db").path)
        #expect(try await database.execute("PRAGMA synchronous", []).map(\.values) == [[.integer(2)]])
        #expect(try await database.execute("PRAGMA journal_mode", []).map(\.values) == [[.text("wal")]])
    }

    @Test func operatorTokensMatchOnlyTheirHash() {
        let operators = OperatorCredentials(tokenHashes: ["alice": Digests.sha256Hex("op_a"), "bob": Digests.sha256Hex("op_b")])
        #expect(operators.operatorName(for: "op_a") == "alice")
        #expect(operators.operatorName(for: "op_b") == "bob")
        #expect(operators.operatorName(for: "op_c") == nil)
    }

    @Test func byteRanges() {
        #expect(CoordinatorHTTPRouter.parseRange("bytes=0-9", size: 100)! == (0, 9))
        #expect(CoordinatorHTTPRouter.parseRange("bytes=90-", size: 100)! == (90, 99))
        #expect(CoordinatorHTTPRouter.parseRange("bytes=-10", size: 100)! == (90, 99))
        #expect(CoordinatorHTTPRouter.parseRange("bytes=50-500", size: 100)! == (50, 99))
        #expect(CoordinatorHTTPRouter.parseRange("bytes=100-", size: 100) == nil)
        #expect(CoordinatorHTTPRouter.parseRange("bytes=9-1", size: 100) == nil)
        #expect(CoordinatorHTTPRouter.parseRange("bytes=0-1,5-6", size: 100) == nil)
        #expect(CoordinatorHTTPRouter.parseRange("items=0-1", size: 100) == nil)
    }

    @Test func exportQuotesCSVAndWritesOneJSONObjectPerLine() throws {
        var result = FleetResult()
        result.seq = 7
        result.text = "a \"red\" car,\nparked"
        let rows = [StoredResultRecord(deviceID: "d1", result: result, receivedAt: 5)]
        let csv = ResultExport.render(rows, as: .csv)
        #expect(csv.hasSuffix(",\"a \"\"red\"\" car,\nparked\",\n"))
        let jsonl = ResultExport.render(rows, as: .jsonl)
        #expect(jsonl.split(separator: "\n").count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(jsonl.utf8)) as? [String: Any]
        #expect(object?["text"] as? String == result.text && object?["seq"] as? Int == 7)
    }

    @Test func dashboardEscapesText() {
        #expect(DashboardPage.escape("<script>alert('x') & \"y\"</script>")
                == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    }

    @Test func signatureVerificationRefusesAlteredBytesAndWrongKeys() throws {
        let key = Curve25519.Signing.PrivateKey()
        var manifest = FleetModelManifest()
        for role in ["llm", "mmproj"] {
            var file = FleetManifestFile()
            file.role = role
            file.sha256 = String(repeating: "a", count: 64)
            file.sizeBytes = 1
            manifest.files.append(file)
        }
        let signed = try ModelSigning.sign(manifest, with: key)
        let trusted = [ModelSigning.keyID(of: key.publicKey): key.publicKey]
        #expect(try ModelSigning.verify(signed, trustedKeys: trusted).digest == Digests.sha256Hex(signed.manifest))
        var flipped = signed
        flipped.manifest[flipped.manifest.startIndex] ^= 1
        #expect(throws: CoordinatorError.self) { try ModelSigning.verify(flipped, trustedKeys: trusted) }
        #expect(throws: CoordinatorError.self) { try ModelSigning.verify(signed, trustedKeys: [:]) }
        var oneFile = manifest
        oneFile.files.removeLast()
        #expect(throws: CoordinatorError.self) { try ModelSigning.verify(try ModelSigning.sign(oneFile, with: key), trustedKeys: trusted) }
    }

    @Test func tlsMaterialIsCreatedOnceAndReused() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-tls-\(UUID().uuidString)")
        let first = try CoordinatorTLS.loadOrCreate(stateDirectory: state, hostnames: ["localhost", "127.0.0.1"])
        let again = try CoordinatorTLS.loadOrCreate(stateDirectory: state, hostnames: ["localhost", "127.0.0.1"])
        #expect(first.caCertificatePEM == again.caCertificatePEM && first.serverCertificatePEM == again.serverCertificatePEM)
        let renamed = try CoordinatorTLS.loadOrCreate(stateDirectory: state, hostnames: ["coord.example"])
        #expect(renamed.caCertificatePEM == first.caCertificatePEM && renamed.serverCertificatePEM != first.serverCertificatePEM)
        let mode = try FileManager.default.attributesOfItem(atPath: state.appendingPathComponent("tls/ca-key.pem").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
