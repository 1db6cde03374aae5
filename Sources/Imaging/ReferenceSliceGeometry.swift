import Foundation

/// The reference processor's size arithmetic (spec §3.2) with Python semantics: doubles,
/// `round()` half to even, `int()` truncation toward zero. Mirrors
/// `tools/pyref/minicpmv_slicing.py` function by function.
struct ReferenceSliceGeometry {
    let scale: Int
    let patch: Int
    let maxSlices: Int

    /// max(round_half_even(length / n) · n, n)
    func ensureDivide(_ length: Double, by n: Int) -> Int {
        max(Int((length / Double(n)).rounded(.toNearestOrEven)) * n, n)
    }

    func bestResize(width: Double, height: Double, allowUpscale: Bool) -> ImageSize {
        var w = width, h = height
        if w * h > Double(scale * scale) || allowUpscale {
            let r = w / h
            h = Double(Int(Double(scale) / r.squareRoot()))
            w = Double(Int(h * r))
        }
        return ImageSize(width: ensureDivide(w, by: patch), height: ensureDivide(h, by: patch))
    }

    func grid(width: Int, height: Int) -> SliceGrid? {
        let multiple = min(Int((Double(width * height) / Double(scale * scale)).rounded(.up)), maxSlices)
        guard multiple > 1 else { return nil }
        let logRatio = log(Double(width) / Double(height))
        var best = SliceGrid(columns: 1, rows: 1)
        var bestError = Double.infinity
        for count in [multiple - 1, multiple, multiple + 1] where count != 1 && count <= maxSlices {
            for m in stride(from: 1, through: count, by: 1) where count % m == 0 {
                let error = abs(logRatio - log(Double(m) / Double(count / m)))
                if error < bestError {   // strict: the first minimum wins
                    best = SliceGrid(columns: m, rows: count / m)
                    bestError = error
                }
            }
        }
        return best
    }

    func refineSize(width: Int, height: Int, grid: SliceGrid) -> ImageSize {
        let rw = ensureDivide(Double(width), by: grid.columns)
        let rh = ensureDivide(Double(height), by: grid.rows)
        let best = bestResize(width: Double(rw) / Double(grid.columns), height: Double(rh) / Double(grid.rows),
                              allowUpscale: true)
        return ImageSize(width: best.width * grid.columns, height: best.height * grid.rows)
    }

    func plan(for size: ImageSize) -> MiniCPMVSlicePlan {
        guard let grid = grid(width: size.width, height: size.height) else {
            let overview = bestResize(width: Double(size.width), height: Double(size.height), allowUpscale: true)
            return MiniCPMVSlicePlan(originalSize: size, grid: nil, overviewSize: overview)
        }
        let overview = bestResize(width: Double(size.width), height: Double(size.height), allowUpscale: false)
        let refine = refineSize(width: size.width, height: size.height, grid: grid)
        return MiniCPMVSlicePlan(originalSize: size, grid: grid, overviewSize: overview, refineSize: refine,
                                 refineContent: PixelRect(x: 0, y: 0, width: refine.width, height: refine.height),
                                 sliceSize: ImageSize(width: refine.width / grid.columns, height: refine.height / grid.rows))
    }
}
