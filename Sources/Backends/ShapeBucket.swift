/// A static input shape an accelerator compiled for. Inputs smaller than a bucket are padded up
/// to it (with masks where the op needs them); an op whose first input fits no bucket of its
/// backend is placed elsewhere.
public struct ShapeBucket: Sendable, Codable, Equatable {
    public var kind: OpKind
    /// Shape of `inputs[0]`, outermost first.
    public var shape: [Int]

    public init(kind: OpKind, shape: [Int]) {
        self.kind = kind
        self.shape = shape
    }

    /// True when a tensor of `shape` fits (same rank, every dimension ≤ the bucket's).
    public func contains(_ shape: [Int]) -> Bool {
        shape.count == self.shape.count && zip(shape, self.shape).allSatisfy { $0 <= $1 }
    }

    /// The bucket with the fewest elements that contains `shape`, or nil.
    public static func smallest(in buckets: [ShapeBucket], containing shape: [Int]) -> ShapeBucket? {
        buckets.filter { $0.contains(shape) }.min { $0.shape.reduce(1, *) < $1.shape.reduce(1, *) }
    }
}
