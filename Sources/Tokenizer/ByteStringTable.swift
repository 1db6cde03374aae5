/// An append-only set of byte strings numbered 0, 1, 2… in insertion order, stored contiguously
/// with open addressing and a cheap hash. Replaces `[[UInt8]: Int32]` dictionaries on the load
/// and tokenize paths, which spent most of their time in per-byte SipHash and pointer chasing.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = [0]     // string i is storage[starts[i]..<starts[i + 1]]
    private var slots: [Int32]            // string id or -1
    private var mask: Int

    init(expectedCount: Int = 16) {
        var capacity = 16
        while capacity < expectedCount * 2 { capacity *= 2 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        storage.reserveCapacity(expectedCount * 8)
        starts.reserveCapacity(expectedCount + 1)
    }

    /// Number of strings stored.
    var count: Int { starts.count - 1 }

    /// The bytes of string `id`.
    func bytes(of id: Int32) -> ArraySlice<UInt8> {
        storage[Int(starts[Int(id)])..<Int(starts[Int(id) + 1])]
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash ^ (hash >> 29)
    }

    /// The id of `bytes`, or nil.
    @inline(__always)
    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Int(truncatingIfNeeded: Self.hash(bytes)) & mask
        return storage.withUnsafeBufferPointer { stored in
            while true {
                let id = slots[slot]
                if id < 0 { return nil }
                let start = Int(starts[Int(id)]), end = Int(starts[Int(id) + 1])
                if end - start == bytes.count && (bytes.isEmpty
                    || memcmpEqual(stored.baseAddress! + start, bytes.baseAddress!, bytes.count)) {
                    return id
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func id(of bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBufferPointer { id(of: $0) }
    }

    /// The id of `bytes`, inserting it with the next id if absent.
    @discardableResult
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>) -> (id: Int32, inserted: Bool) {
        if let existing = id(of: bytes) { return (existing, false) }
        if (count + 1) * 2 > slots.count { grow() }
        let id = Int32(count)
        storage.append(contentsOf: bytes)
        starts.append(Int32(storage.count))
        place(id, hash: Self.hash(bytes))
        return (id, true)
    }

    @discardableResult
    mutating func insert(_ bytes: [UInt8]) -> (id: Int32, inserted: Bool) {
        bytes.withUnsafeBufferPointer { insert($0) }
    }

    private mutating func place(_ id: Int32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for id in 0..<Int32(count) {
            let start = Int(starts[Int(id)]), end = Int(starts[Int(id) + 1])
            let hash = storage.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[start..<end])) }
            place(id, hash: hash)
        }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for index in 0..<count where a[index] != b[index] { return false }
    return true
}
