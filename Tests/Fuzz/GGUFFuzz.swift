// libFuzzer entry point for the GGUF header parser. Not a SwiftPM target: scripts/fuzz-gguf.sh
// compiles it together with Sources/GGUF/*.swift using `swiftc -sanitize=fuzzer,address`.

/// Parses the input as a whole GGUF file; anything accepted is then exercised (tensor bounds,
/// dequantization of small tensors, metadata rendering). Errors are expected; crashes are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func ggufFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let header = try? GGUFParser.parse(input, file: "fuzz-input") else { return 0 }
    for tensor in header.tensors where GGUFDequantize.isSupported(tensor.type) && tensor.elementCount <= 1 << 16 {
        let start = header.dataOffset + tensor.offset
        let bytes = UnsafeRawBufferPointer(rebasing: input[start ..< start + tensor.byteCount])
        var output = [Float](repeating: 0, count: tensor.elementCount)
        output.withUnsafeMutableBufferPointer { out in
            _ = try? GGUFDequantize.dequantize(bytes, type: tensor.type, into: out, tensor: tensor.name)
        }
    }
    _ = header.metadata.entries.map(\.value.description)
    return 0
}
