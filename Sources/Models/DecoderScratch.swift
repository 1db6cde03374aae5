/// Working buffers of one forward pass over `rows` positions.
struct DecoderScratch {
    let x: UnsafeMutablePointer<Float>
    let h: UnsafeMutablePointer<Float>
    let q: UnsafeMutablePointer<Float>
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    let positions: UnsafeMutablePointer<Int32>

    init(rows: Int, configuration c: DecoderConfiguration) {
        x = .allocate(capacity: rows * c.embeddingLength)
        h = .allocate(capacity: rows * max(c.embeddingLength, c.queryWidth))
        q = .allocate(capacity: rows * c.queryWidth)
        k = .allocate(capacity: rows * c.kvWidth)
        v = .allocate(capacity: rows * c.kvWidth)
        attention = .allocate(capacity: rows * c.queryWidth)
        gate = .allocate(capacity: rows * c.feedForwardLength)
        up = .allocate(capacity: rows * c.feedForwardLength)
        positions = .allocate(capacity: rows)
    }

    func deallocate() {
        [x, h, q, k, v, attention, gate, up].forEach { $0.deallocate() }
        positions.deallocate()
    }
}
