import ArgumentParser
import Foundation
import Imaging

/// `edgevlm imaging`: inspect and time the image path (decode → MiniCPM-V slicing → tensors).
struct ImagingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imaging",
        abstract: "Decode an image and show or time MiniCPM-V's slicing of it.",
        subcommands: [ImagingPlanCommand.self, ImagingBenchCommand.self]
    )
}

/// Options shared by the imaging subcommands.
struct ImagingOptions: ParsableArguments {
    @Argument(help: "A JPEG or PNG file.")
    var path: String

    @Option(help: "Slicing behaviour: 'reference' (official processor) or 'llamacpp' (llama.cpp 0.3.36).")
    var compat: String = "reference"

    @Option(help: "Refuse images with more pixels than this (decompression-bomb guard).")
    var maxPixels: Int = ImageDecodingOptions().maxPixelCount

    func slicer() throws -> MiniCPMVSlicer {
        let mode: MiniCPMVSlicingMode
        switch compat {
        case "reference": mode = .reference
        case "llamacpp": mode = .llamaCpp
        default: throw ValidationError("--compat must be 'reference' or 'llamacpp', not '\(compat)'")
        }
        return MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(mode: mode))
    }

    var decoding: ImageDecodingOptions { ImageDecodingOptions(maxPixelCount: maxPixels) }
}

/// `edgevlm imaging plan PATH`: the slice plan as JSON.
struct ImagingPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Print the slice plan of an image as JSON.")

    @OptionGroup var options: ImagingOptions

    func run() throws {
        let image = try ImageDecoder.decodeFile(atPath: options.path, options: options.decoding)
        let plan = try options.slicer().plan(for: image.size)
        func pair(_ s: ImageSize?) -> Any { s.map { [$0.width, $0.height] } ?? NSNull() }
        let object: [String: Any] = [
            "image": [image.width, image.height],
            "mode": options.compat,
            "grid": plan.grid.map { [$0.columns, $0.rows] } ?? NSNull(),
            "overview": pair(plan.overviewSize),
            "refine": pair(plan.refineSize),
            "refine_content": plan.grid == nil ? NSNull() : plan.refineContent.map { [$0.x, $0.y, $0.width, $0.height] } ?? NSNull(),
            "slice": pair(plan.sliceSize),
            "encoder_inputs": plan.imageCount,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `edgevlm imaging bench PATH`: minimum and median time of each stage over repeated runs, as
/// thread CPU time (robust on a shared, loaded machine) and wall time.
struct ImagingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Time decode, resize, slicing and normalisation of an image.")

    @OptionGroup var options: ImagingOptions

    @Option(help: "Repetitions per stage (the median is reported).")
    var runs: Int = 21

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: options.path))
        let slicer = try options.slicer()
        let image = try ImageDecoder.decode(data, source: options.path, options: options.decoding)
        let plan = try slicer.plan(for: image.size)
        print("image \(image.width)×\(image.height), mode \(options.compat), grid \(plan.grid?.description ?? "none"), overview \(plan.overviewSize), refine \(plan.refineSize?.description ?? "-")")

        func cpuNanoseconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
        }
        func median(_ label: String, _ body: () throws -> Void) throws {
            var cpu: [Double] = [], wall: [Double] = []
            for _ in 0..<max(runs, 1) {
                let startWall = DispatchTime.now().uptimeNanoseconds
                let startCPU = cpuNanoseconds()
                try body()
                cpu.append((cpuNanoseconds() - startCPU) / 1e6)
                wall.append(Double(DispatchTime.now().uptimeNanoseconds - startWall) / 1e6)
            }
            cpu.sort(); wall.sort()
            let name = label.padding(toLength: 34, withPad: " ", startingAt: 0)
            print(name + String(format: " cpu min %7.2f median %7.2f ms | wall min %7.2f median %7.2f ms (%d runs)",
                                       cpu[0], cpu[cpu.count / 2], wall[0], wall[wall.count / 2], cpu.count))
        }
        try median("decode") { _ = try ImageDecoder.decode(data, options: options.decoding) }
        try median("resize overview (bicubic)") { _ = try image.resized(to: plan.overviewSize) }
        if let refine = plan.refineSize {
            try median("resize refine (bicubic)") { _ = try image.resized(to: refine) }
            try median("  horizontal pass only") { _ = try image.resized(width: refine.width, height: image.height) }
            try median("  vertical pass only") { _ = try image.resized(width: image.width, height: refine.height) }
        }
        try median("slice (overview + refine + crops)") { _ = try slicer.slice(image) }
        let sliced = try slicer.slice(image)
        try median("normalise all encoder inputs") { for input in sliced.encoderInputs { _ = PixelTensor(input) } }
        try median("total: decode + slice + normalise") {
            let decoded = try ImageDecoder.decode(data, options: options.decoding)
            for input in try slicer.slice(decoded).encoderInputs { _ = PixelTensor(input) }
        }
    }
}
