import ArgumentParser
import GGUF

#if canImport(Glibc)
import Glibc
#endif

/// `edgevlm inspect FILE.gguf [--json]`: the metadata and tensor table of a GGUF file.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a GGUF file's metadata and tensor table (reads only the header).",
        discussion: """
            The human-readable form abbreviates long arrays and strings. --json prints everything:
            {"version", "alignment", "data_offset", "metadata": {key: value}, "metadata_types":
            {key: type}, "tensors": [{"name", "type", "shape" (ggml ne order), "offset" (relative
            to the data section), "bytes"}]}. Errors go to stderr with exit status 1.
            """
    )

    @Argument(help: "The GGUF file to inspect.")
    var file: String

    @Flag(help: "Print machine-readable JSON instead of tables.")
    var json = false

    func run() throws {
        let gguf: GGUFFile
        do {
            gguf = try GGUFFile(path: file)
        } catch let error as GGUFError {
            var stderr = InspectStandardError()
            print("edgevlm inspect: \(error)", to: &stderr)
            throw ExitCode.failure
        }
        print(json ? GGUFInspection.json(gguf) : GGUFInspection.table(gguf))
    }
}

/// Renders a GGUF file's header as text tables or JSON.
enum GGUFInspection {
    static let arrayPreview = 8
    static let stringPreview = 96

    static func table(_ file: GGUFFile) -> String {
        var out = "\(file.path): GGUF v\(file.version), alignment \(file.alignment), "
            + "data at offset \(file.dataOffset), \(file.fileSize) bytes\n"
        out += "\nMetadata (\(file.metadata.count) keys)\n"
        let keyWidth = min(48, file.metadata.keys.map(\.count).max() ?? 0)
        for entry in file.metadata.entries {
            out += "  " + pad(entry.key, keyWidth) + "  " + pad(entry.value.typeDescription, 22) + "  "
                + preview(entry.value) + "\n"
        }
        out += "\nTensors (\(file.tensors.count), \(file.tensors.reduce(0) { $0 + $1.byteCount }) bytes)\n"
        let rows = file.tensors.map { t in
            [t.name, t.type.name, "[" + t.shape.map(String.init).joined(separator: ", ") + "]",
             String(t.offset), String(t.byteCount)]
        }
        let header = ["name", "type", "shape", "offset", "bytes"]
        let widths = (0 ..< header.count).map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        for row in [header] + rows {
            out += "  " + row.enumerated().map { c, cell in
                c >= 3 ? padLeft(cell, widths[c]) : pad(cell, widths[c])
            }.joined(separator: "  ") + "\n"
        }
        return out
    }

    static func preview(_ value: GGUFValue) -> String {
        switch value {
        case let .string(s):
            return quote(s.count > stringPreview ? String(s.prefix(stringPreview)) + "…" : s)
                + (s.count > stringPreview ? " (\(s.utf8.count) bytes)" : "")
        case let .array(array):
            let shown = array.elements.prefix(arrayPreview).map(preview)
            let more = array.count > arrayPreview ? ", … (\(array.count) items)" : ""
            return "[" + shown.joined(separator: ", ") + more + "]"
        default:
            return value.description
        }
    }

    // MARK: JSON

    static func json(_ file: GGUFFile) -> String {
        var out = "{\n"
        out += "  \"file\": \(quote(file.path)),\n"
        out += "  \"version\": \(file.version),\n"
        out += "  \"alignment\": \(file.alignment),\n"
        out += "  \"data_offset\": \(file.dataOffset),\n"
        out += "  \"metadata\": {"
        out += file.metadata.entries.map { "\n    \(quote($0.key)): \(jsonValue($0.value))" }.joined(separator: ",")
        out += file.metadata.count > 0 ? "\n  },\n" : "},\n"
        out += "  \"metadata_types\": {"
        out += file.metadata.entries.map { "\n    \(quote($0.key)): \(quote(typeName($0.value)))" }.joined(separator: ",")
        out += file.metadata.count > 0 ? "\n  },\n" : "},\n"
        out += "  \"tensors\": ["
        out += file.tensors.map { t in
            "\n    {\"name\": \(quote(t.name)), \"type\": \(quote(t.type.name)), \"shape\": ["
                + t.shape.map(String.init).joined(separator: ", ")
                + "], \"offset\": \(t.offset), \"bytes\": \(t.byteCount)}"
        }.joined(separator: ",")
        out += file.tensors.isEmpty ? "]\n}" : "\n  ]\n}"
        return out
    }

    /// `uint32`, `string`, or `array[int32]`.
    static func typeName(_ value: GGUFValue) -> String {
        if case let .array(array) = value { return "array[\(array.elementType)]" }
        return value.type.description
    }

    /// Exact JSON: integers in full, floats as the shortest decimal that reads back to the same
    /// Double (a Float is widened exactly first); non-finite floats become null (JSON has none).
    static func jsonValue(_ value: GGUFValue) -> String {
        switch value {
        case let .float32(v): return v.isFinite ? "\(Double(v))" : "null"
        case let .float64(v): return v.isFinite ? "\(v)" : "null"
        case let .string(s): return quote(s)
        case let .array(array): return "[" + array.elements.map(jsonValue).joined(separator: ", ") + "]"
        default: return value.description
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    private static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}

/// `print(..., to:)` target for standard error.
private struct InspectStandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
