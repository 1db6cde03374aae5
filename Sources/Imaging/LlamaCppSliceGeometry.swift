import Foundation

/// llama.cpp 0.3.36's slicing arithmetic (`mtmd_image_preprocessor_llava_uhd`, spec §3.3) with
/// C semantics: float32 arithmetic, `std::round` half away from zero, `(int)` truncation.
/// Mirrors `tools/pyref/llamacpp_slicing.py` function by function.
struct LlamaCppSliceGeometry {
    let scale: Int
    let patch: Int
    let maxSlices: Int

    /// max((int)(std::round((float)length / n) * n), n)
    func ensureDivide(_ length: Int, by n: Int) -> Int {
        let q = Float(length) / Float(n)
        return max(Int(q.rounded(.toNearestOrAwayFromZero) * Float(n)), n)
    }

    func bestResize(width: Int, height: Int, allowUpscale: Bool) -> ImageSize {
        var w = width, h = height
        if w * h > scale * scale || allowUpscale {
            let r = Float(w) / Float(h)
            h = Int(Float(scale) / r.squareRoot())
            w = Int(Float(h) * r)
        }
        return ImageSize(width: ensureDivide(w, by: patch), height: ensureDivide(h, by: patch))
    }

    /// `get_best_grid`: the error is computed in double (`std::log(1.0 * w / h)`) and stored
    /// in a float, so near-ties compare in float precision.
    func bestGrid(multiple: Int, logRatio: Float) -> SliceGrid {
        var best = SliceGrid(columns: 1, rows: 1)
        var minError = Float.infinity
        for count in [multiple - 1, multiple, multiple + 1] where count != 1 && count <= maxSlices {
            for m in stride(from: 1, through: count, by: 1) where count % m == 0 {
                let error = Float(abs(Double(logRatio) - log(1.0 * Double(m) / Double(count / m))))
                if error < minError {
                    best = SliceGrid(columns: m, rows: count / m)
                    minError = error
                }
            }
        }
        return best
    }

    func refineSize(width: Int, height: Int, grid: SliceGrid) -> ImageSize {
        let rw = ensureDivide(width, by: grid.columns)
        let rh = ensureDivide(height, by: grid.rows)
        let best = bestResize(width: rw / grid.columns, height: rh / grid.rows, allowUpscale: true)
        return ImageSize(width: best.width * grid.columns, height: best.height * grid.rows)
    }

    /// `img_tool::resize` with PAD_CEIL: the aspect-fitted content rectangle inside `target`.
    func paddedContent(source: ImageSize, target: ImageSize) -> PixelRect {
        if source == target { return PixelRect(x: 0, y: 0, width: target.width, height: target.height) }
        let s = min(Float(target.width) / Float(source.width), Float(target.height) / Float(source.height))
        let w = min(Int((Float(source.width) * s).rounded(.up)), target.width)
        let h = min(Int((Float(source.height) * s).rounded(.up)), target.height)
        return PixelRect(x: (target.width - w) / 2, y: (target.height - h) / 2, width: w, height: h)
    }

    func plan(for size: ImageSize) -> MiniCPMVSlicePlan {
        guard size.width > scale || size.height > scale else {
            return MiniCPMVSlicePlan(originalSize: size, grid: nil,
                                     overviewSize: ImageSize(width: scale, height: scale))
        }
        let overview = bestResize(width: size.width, height: size.height, allowUpscale: false)
        // log((float)W / H): double log of the float quotient, stored as float.
        let logRatio = Float(log(Double(Float(size.width) / Float(size.height))))
        let ratio = Float(size.width) * Float(size.height) / Float(scale * scale)
        let multiple = Int(min(ratio.rounded(.up), Float(maxSlices)))
        let grid = bestGrid(multiple: multiple, logRatio: logRatio)
        let refine = refineSize(width: size.width, height: size.height, grid: grid)
        return MiniCPMVSlicePlan(originalSize: size, grid: grid, overviewSize: overview, refineSize: refine,
                                 refineContent: paddedContent(source: size, target: refine),
                                 sliceSize: ImageSize(width: refine.width / grid.columns, height: refine.height / grid.rows))
    }
}
