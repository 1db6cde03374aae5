import ArgumentParser
import GGUF

#if canImport(Glibc)
import Glibc
#endif

/// `edgevlm bench-gguf`: open/index time of a large GGUF file and dequantization throughput.
struct BenchGGUFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gguf",
        abstract: "Benchmark the GGUF reader (open + index of a large file) and dequantization per type.",
        discussion: """
            With --file (created with --size-mb when missing, made with GGUFWriter: Qwen2-1.5B-shaped
            layers in a Q4_K_M-like mix plus a --vocab-entry string vocabulary) it times GGUFFile(path:) and reports resident
            memory before and after. Then it dequantizes --elements values of every supported type
            from memory and reports GB/s of quantized input and of Float32 output (best of --repeats).
            """
    )

    @Option(help: "GGUF file to open (created if missing).")
    var file: String = "/tmp/edgevlm-bench.gguf"

    @Option(help: "Size of the file to create when missing, in MiB.")
    var sizeMb: Int = 1024

    @Option(help: "Vocabulary entries (strings) in the file to create.")
    var vocab: Int = 151_643

    @Option(help: "Times to open the file (median reported).")
    var opens: Int = 20

    @Option(help: "Elements per dequantization run (a multiple of 256).")
    var elements: Int = 1 << 24

    @Option(help: "Repetitions per type (best reported).")
    var repeats: Int = 3

    @Flag(help: "Skip the dequantization part.")
    var skipDequant = false

    func run() throws {
        if access(file, F_OK) != 0 {
            let start = now()
            try Self.makeFile(path: file, sizeMB: sizeMb, vocab: vocab)
            print("created \(file) in \(format(now() - start, 1)) s")
        }
        try benchOpen()
        if !skipDequant { try benchDequantize() }
    }

    // MARK: open and index

    func benchOpen() throws {
        let rssBefore = Self.residentKiB()
        var times = [Double]()
        var tensors = 0, keys = 0, size = 0
        var kept: GGUFFile?
        for _ in 0 ..< max(1, opens) {
            let start = now()
            let gguf = try GGUFFile(path: file)
            times.append(now() - start)
            tensors = gguf.tensors.count
            keys = gguf.metadata.count
            size = gguf.fileSize
            kept = gguf
        }
        let rssAfter = Self.residentKiB()
        times.sort()
        print("open+index \(file): \(size / (1 << 20)) MiB, \(tensors) tensors, \(keys) keys")
        print("  median \(format(times[times.count / 2] * 1000, 2)) ms, min \(format(times[0] * 1000, 2)) ms over \(times.count) opens")
        print("  VmRSS before \(rssBefore / 1024) MiB, after (file still open) \(rssAfter / 1024) MiB: +\(rssAfter - rssBefore) KiB")
        withExtendedLifetime(kept) {}
    }

    /// Writes a llama-like file: a `vocab`-entry vocabulary, then tensors of common weight types
    /// until `sizeMB` is reached.
    static func makeFile(path: String, sizeMB: Int, vocab: Int) throws {
        var writer = GGUFWriter()
        try writer.setValue(.string("llama"), forKey: "general.architecture")
        try writer.setValue(.string("edgevlm bench"), forKey: "general.name")
        if vocab > 0 {
            try writer.setValue(.array(.string((0 ..< vocab).map { "tok\($0)" })), forKey: "tokenizer.ggml.tokens")
            try writer.setValue(.array(.int32([Int32](repeating: 1, count: vocab))), forKey: "tokenizer.ggml.token_type")
        }
        // One decoder layer shaped like Qwen2-1.5B's (hidden 1536, FFN 8960) in a Q4_K_M-like mix.
        let shapes: [(GGMLType, [Int])] = [
            (.f32, [1536]), (.q4_K, [1536, 1536]), (.f32, [1536]), (.q4_K, [1536, 256]), (.f32, [256]),
            (.q6_K, [1536, 256]), (.f32, [256]), (.q4_K, [1536, 1536]), (.f32, [1536]),
            (.q4_K, [1536, 8960]), (.q4_K, [1536, 8960]), (.q6_K, [8960, 1536]),
        ]
        var total = 0, i = 0
        while total < sizeMB << 20 {
            let (type, shape) = shapes[i % shapes.count]
            let bytes = type.byteCount(elements: shape.reduce(1, *)) ?? 0
            try writer.addTensor(name: "blk.\(i / shapes.count).t\(i % shapes.count).weight", type: type, shape: shape,
                                 data: .generated { buffer in
                                     for j in stride(from: 0, to: buffer.count, by: 4096) { buffer[j] = UInt8(truncatingIfNeeded: j) }
                                 })
            total += bytes
            i += 1
        }
        try writer.write(to: path)
    }

    // MARK: dequantization

    func benchDequantize() throws {
        print("dequantize \(elements) elements per run, best of \(repeats)")
        print("  type      in GB/s   out GB/s   ms")
        let order: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                 .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq4_NL, .iq4_XS, .mxfp4, .tq1_0, .tq2_0,
                                 .f64, .i8, .i16, .i32, .i64]
        var output = [Float](repeating: 0, count: elements)
        for type in order where GGUFDequantize.isSupported(type) {
            guard let byteCount = type.byteCount(elements: elements) else { continue }
            let input = Self.blocks(of: type, byteCount: byteCount)
            var best = Double.infinity
            for _ in 0 ..< max(1, repeats) {
                let start = now()
                try input.withUnsafeBytes { src in
                    try output.withUnsafeMutableBufferPointer {
                        try GGUFDequantize.dequantize(src, type: type, into: $0, tensor: type.name)
                    }
                }
                best = min(best, now() - start)
            }
            let inGB = Double(byteCount) / best / 1e9
            let outGB = Double(elements * 4) / best / 1e9
            print("  " + type.name.padRight(8) + format(inGB, 2).padLeft(9) + format(outGB, 2).padLeft(11)
                + format(best * 1000, 1).padLeft(8))
        }
    }

    /// Random blocks with finite, normal scale fields (so no NaN/subnormal arithmetic).
    static func blocks(of type: GGMLType, byteCount: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for i in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let halfFields: [Int]
        switch type {
        case .f16: halfFields = [0]
        case .q4_0, .q5_0, .q8_0, .iq4_NL, .iq4_XS: halfFields = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: halfFields = [0, 2]
        case .q2_K: halfFields = [80, 82]
        case .q3_K: halfFields = [108]
        case .q6_K: halfFields = [208]
        case .tq1_0: halfFields = [52]
        case .tq2_0: halfFields = [64]
        default: halfFields = []
        }
        let stride = type.bytesPerBlock
        for block in Swift.stride(from: 0, to: byteCount, by: stride) {
            for offset in halfFields {
                bytes[block + offset] = 0x66  // 0x2E66 ≈ 0.1
                bytes[block + offset + 1] = 0x2E
            }
            switch type {
            case .f32: bytes[block + 3] = 0x3D  // exponent near 1/16
            case .bf16: bytes[block + 1] = 0x3D
            case .f64: bytes[block + 7] = 0x3F
            case .q8_K: bytes.replaceSubrange(block ..< block + 4, with: [0xCD, 0xCC, 0xCC, 0x3D])
            case .mxfp4: bytes[block] = 127
            default: break
            }
        }
        return bytes
    }

    // MARK: helpers

    static func residentKiB() -> Int {
        guard let f = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmRSS:") {
                return Int(text.dropFirst(6).filter(\.isNumber)) ?? 0
            }
        }
        return 0
    }

    func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func format(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0 ..< decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            if have < decimals { text += String(repeating: "0", count: decimals - have) }
        }
        return text
    }
}

private extension String {
    func padRight(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func padLeft(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
