import Foundation

/// Where the time of vision encoding went, in seconds (summed over slices).
public struct VisionTimings: Sendable, Equatable, Codable {
    public var patchEmbedding: Double = 0
    public var attention: Double = 0
    public var mlp: Double = 0
    public var resampler: Double = 0
    public init() {}
    public var total: Double { patchEmbedding + attention + mlp + resampler }
    /// Adds `other`'s stage times to these (several slices or images).
    public mutating func add(_ other: VisionTimings) {
        patchEmbedding += other.patchEmbedding
        attention += other.attention
        mlp += other.mlp
        resampler += other.resampler
    }
}

/// A monotonic stopwatch that returns the seconds since the previous lap.
public struct StageClock: Sendable {
    private var last = DispatchTime.now().uptimeNanoseconds
    public init() {}
    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now &- last) / 1e9
    }
}
