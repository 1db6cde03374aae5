/// Merge candidates ordered by a tokenizer's priority (BPE: lowest rank; SentencePiece: highest
/// score; both leftmost on ties): a binary heap over a reusable array, so an encoder keeps one
/// and clears it per word.
protocol MergePriority {
    /// Whether `self` is merged before `other`.
    func precedes(_ other: Self) -> Bool
}

struct MergeQueue<Element: MergePriority> {
    private var heap: [Element] = []

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        heap.append(element)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !heap[child].precedes(heap[parent]) { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The element merged first, removed; nil when empty.
    mutating func popBest() -> Element? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        let count = heap.count
        while true {
            let leftChild = 2 * parent + 1
            if leftChild >= count { break }
            var best = leftChild
            if leftChild + 1 < count && heap[leftChild + 1].precedes(heap[leftChild]) { best = leftChild + 1 }
            if !heap[best].precedes(heap[parent]) { break }
            heap.swapAt(best, parent)
            parent = best
        }
        return first
    }
}
