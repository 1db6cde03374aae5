/// Non-overlapping 2-D convolution (kernel = stride = `patchSize`) as im2col + mat-mul: the
/// patch embedding of a vision transformer.
///
/// Input is planar `[channels][height][width]` floats. The weight is a `WeightMatrix` with
/// `rows = outputChannels`, `columns = channels·patchSize²` in `[channel][ky][kx]` order (a
/// GGUF conv kernel with ne `[patchSize, patchSize, channels, outputChannels]`). Output is
/// `[patchCount][outputChannels]`, patches in row-major grid order (`py · width/patchSize + px`).
public enum PatchEmbedding {
    /// Patches along each axis; partial patches at the right/bottom edges are dropped, as ggml does.
    public static func gridSize(height: Int, width: Int, patchSize: Int) -> (rows: Int, columns: Int) {
        (height / patchSize, width / patchSize)
    }

    /// Writes the patch rows (`patchCount × channels·patchSize²`) of `image` into `columns`.
    public static func im2col(image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, patchSize: Int,
                              columns: UnsafeMutablePointer<Float>) {
        let grid = gridSize(height: height, width: width, patchSize: patchSize)
        let patchLength = channels * patchSize * patchSize
        for py in 0..<grid.rows {
            for px in 0..<grid.columns {
                var out = columns + (py * grid.columns + px) * patchLength
                for c in 0..<channels {
                    for ky in 0..<patchSize {
                        let src = image + (c * height + py * patchSize + ky) * width + px * patchSize
                        out.update(from: src, count: patchSize)
                        out += patchSize
                    }
                }
            }
        }
    }

    /// Computes the embedding on `pool`. `bias` (length `outputChannels`) is optional.
    /// - Throws: `KernelsError.invalidShape` if the weight's columns are not `channels·patchSize²`.
    public static func compute(image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, patchSize: Int,
                               weight: WeightMatrix, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               pool: ThreadPool) throws(KernelsError) {
        let patchLength = channels * patchSize * patchSize
        guard weight.columns == patchLength else {
            throw .invalidShape("patch embedding weight has \(weight.columns) columns, expected \(channels)·\(patchSize)² = \(patchLength)")
        }
        let grid = gridSize(height: height, width: width, patchSize: patchSize)
        let patches = grid.rows * grid.columns
        guard patches > 0 else { throw .invalidShape("image \(width)×\(height) is smaller than one \(patchSize)-pixel patch") }
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: patches * patchLength)
        defer { columns.deallocate() }
        im2col(image: image, channels: channels, height: height, width: width, patchSize: patchSize, columns: columns)
        // Always the SGEMM path: Float32 pixels, no activation rounding, whatever the patch count.
        MatMul.computeBatched(weight: weight, input: columns, batch: patches, output: output, pool: pool)
        if let bias { Elementwise.addBias(output, bias: bias, rows: patches, width: weight.rows) }
    }

    /// Direct-convolution twin of `compute` in Float64 (no im2col, no GEMM).
    public static func computeReference(image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, patchSize: Int,
                                        weight: WeightMatrix, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let grid = gridSize(height: height, width: width, patchSize: patchSize)
        let kernel = UnsafeMutablePointer<Float>.allocate(capacity: weight.columns)
        defer { kernel.deallocate() }
        for o in 0..<weight.rows {
            weight.dequantizeRow(o, into: kernel)
            for py in 0..<grid.rows {
                for px in 0..<grid.columns {
                    var sum = Double(bias?[o] ?? 0)
                    for c in 0..<channels {
                        for ky in 0..<patchSize {
                            for kx in 0..<patchSize {
                                let pixel = image[(c * height + py * patchSize + ky) * width + px * patchSize + kx]
                                sum += Double(pixel) * Double(kernel[(c * patchSize + ky) * patchSize + kx])
                            }
                        }
                    }
                    output[(py * grid.columns + px) * weight.rows + o] = Float(sum)
                }
            }
        }
    }
}
