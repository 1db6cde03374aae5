import ArgumentParser
import Foundation
import Imaging
import Kernels
import Models
import Runtime

/// `edgevlm bench vision`: seconds to encode an image with an mmproj file (slicing, SigLIP,
/// resampler; no language model), per slice and per stage, with the process's peak RSS.
struct BenchVisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision",
        abstract: "Time the vision encoder on a 448×448 and a 1344×896 image (or given images), per slice and stage.")

    @Option(help: "Path of the mmproj (vision projector) GGUF.")
    var mmproj: String

    @Option(name: .shortAndLong, help: "Image file to encode instead of the built-in 448×448 and 1344×896 test images; repeat for several.")
    var image: [String] = []

    @Option(help: "Threads.")
    var threads: Int = 1

    @Option(name: .shortAndLong, help: "Timed repetitions per image (the best is reported, after one warm-up encode).")
    var repetitions: Int = 1

    @Option(help: "Slicing: 'reference' (default) or 'llamacpp' (llama.cpp's slicing and ggml's table GELU, for side-by-side runs with llama-mtmd-cli).")
    var compat: String = "reference"

    @Flag(name: .customLong("sequential-slices"), help: "Encode slices one after another on all threads instead of side by side.")
    var sequentialSlices = false

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Row: Codable {
        var image: String
        var width: Int
        var height: Int
        var slices: Int
        var sliceSizes: [[Int]]
        var encodeSeconds: Double
        var secondsPerSlice: [Double]
        var stages: VisionTimings
    }

    struct Report: Codable {
        var mmproj: String
        var threads: Int
        var compat: String
        var kernels: String
        var rows: [Row]
        var peakRSSMiB: Double
    }

    func validate() throws {
        guard ["reference", "llamacpp"].contains(compat) else {
            throw ValidationError("--compat must be 'reference' or 'llamacpp', not '\(compat)'")
        }
        guard threads >= 1, repetitions >= 1 else { throw ValidationError("--threads and --repetitions must be at least 1") }
    }

    func run() throws {
        let pool = ThreadPool(threadCount: threads)
        let vision: MiniCPMVVisionTower
        do { vision = try MiniCPMVVisionTower(path: mmproj, pool: pool) } catch { throw RuntimeError.model(error) }
        let encoder = try ImageEncoder(vision: vision, pool: pool, sliceLanes: !sequentialSlices)
        let mode: MiniCPMVSlicingMode = compat == "llamacpp" ? .llamaCpp : .reference
        var inputs: [(String, RGBImage)] = []
        if image.isEmpty {
            inputs = [("synthetic 448x448", try Self.testImage(width: 448, height: 448)),
                      ("synthetic 1344x896", try Self.testImage(width: 1344, height: 896))]
        } else {
            for path in image {
                do { inputs.append((path, try ImageDecoder.decodeFile(atPath: path))) } catch {
                    throw RuntimeError.image(source: path, detail: "\(error)")
                }
            }
        }
        _ = try encoder.encode(inputs[0].1, mode: mode, source: inputs[0].0) // warm-up: page in the weights
        var rows: [Row] = []
        for (name, picture) in inputs {
            var best: ImageEncoder.Encoded?
            for _ in 0..<repetitions {
                let encoded = try encoder.encode(picture, mode: mode, source: name)
                if best.map({ encoded.wallSeconds < $0.wallSeconds }) ?? true { best = encoded }
            }
            guard let best else { continue }
            rows.append(Row(image: name, width: picture.width, height: picture.height, slices: best.sizes.count,
                            sliceSizes: best.sizes, encodeSeconds: best.wallSeconds,
                            secondsPerSlice: best.secondsPerSlice, stages: best.timings))
        }
        let report = Report(mmproj: mmproj, threads: threads, compat: compat, kernels: KernelsInfo.currentISA.description,
                            rows: rows, peakRSSMiB: Self.peakRSSMiB())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("vision: \(mmproj), \(threads) thread(s), \(compat) slicing, slices \(sequentialSlices ? "one after another" : "side by side"), kernels \(report.kernels)")
        for row in rows {
            let s = row.stages
            print(String(format: "%@ (%dx%d): %d slice(s), encode %.2f s [patch embed %.2f, attention %.2f, MLP %.2f, resampler %.2f]",
                         row.image, row.width, row.height, row.slices, row.encodeSeconds,
                         s.patchEmbedding, s.attention, s.mlp, s.resampler))
            print("  per slice (s): " + row.secondsPerSlice.map { String(format: "%.2f", $0) }.joined(separator: " "))
        }
        print(String(format: "peak RSS: %.0f MiB", report.peakRSSMiB))
    }

    /// A deterministic image with edges and gradients (content does not change the arithmetic,
    /// but keep it image-like).
    static func testImage(width: Int, height: Int) throws -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var state: UInt32 = 0x9E37_79B9
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 1_664_525 &+ 1_013_904_223
                let i = (y * width + x) * 3
                pixels[i] = UInt8(truncatingIfNeeded: x * 255 / max(1, width - 1))
                pixels[i + 1] = UInt8(truncatingIfNeeded: ((x / 32 + y / 32) % 2) * 200 + Int(state >> 29))
                pixels[i + 2] = UInt8(truncatingIfNeeded: y * 255 / max(1, height - 1))
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024 // kilobytes on Linux
    }
}
