/// Labels of every clip and, per class, the clips that carry it — all that the loader keeps in
/// memory about a split (besides shard offsets). Single-label data: 4 bytes per clip (primary label)
/// + 4 per clip in the class lists. Multi-label data: the class lists hold 4 bytes per label, plus
/// a clip→labels CSR table (4 bytes per clip + 4 per label); AudioSet (2M clips, ~2 labels each):
/// 4 + 8 + 4 + 8 = 24 bytes per clip, about 48 MB.
public struct LabelIndex: Sendable {
    /// Primary label per global clip id.
    public let primary: [Int32]
    /// Clip → labels CSR (empty when every clip has exactly its primary label).
    let labelStart: [Int32]
    let labelList: [Int32]
    /// Class → clips CSR.
    let classStart: [Int]
    let classClips: [Int32]
    public let numClasses: Int

    /// Builds the index from each clip's primary label and, for clips with more than one label,
    /// the full list (primary first); `multi[i]` is nil when clip i's only label is its primary.
    public init(primary: [Int32], multi: [[Int32]?], numClasses: Int) {
        self.primary = primary
        self.numClasses = numClasses
        let isMulti = multi.contains { $0 != nil }
        var ls: [Int32] = [], ll: [Int32] = []
        if isMulti {
            ls.reserveCapacity(primary.count + 1)
            ls.append(0)
            for i in 0..<primary.count {
                if let m = multi[i] { ll.append(contentsOf: m) } else { ll.append(primary[i]) }
                ls.append(Int32(ll.count))
            }
        }
        labelStart = ls; labelList = ll
        var counts = [Int](repeating: 0, count: numClasses + 1)
        func each(_ body: (Int, Int32) -> Void) {
            if isMulti { for i in 0..<primary.count { for j in Int(ls[i])..<Int(ls[i + 1]) { body(i, ll[j]) } } }
            else { for i in 0..<primary.count { body(i, primary[i]) } }
        }
        each { _, c in counts[Int(c) + 1] += 1 }
        for c in 0..<numClasses { counts[c + 1] += counts[c] }
        var fill = counts
        var cc = [Int32](repeating: 0, count: counts[numClasses])
        each { i, c in cc[fill[Int(c)]] = Int32(i); fill[Int(c)] += 1 }
        classStart = counts; classClips = cc
    }

    /// All labels of clip `i`: the primary first, then the others in class order.
    public func labels(of i: Int) -> ArraySlice<Int32> {
        labelStart.isEmpty ? primary[i...i] : labelList[Int(labelStart[i])..<Int(labelStart[i + 1])]
    }

    /// Clips carrying class `c`.
    public func clips(of c: Int) -> ArraySlice<Int32> { classClips[classStart[c]..<classStart[c + 1]] }

    /// A clip other than `i` that shares one of `i`'s labels, chosen with `rng`; nil when `i` is
    /// the only clip of each of its classes.
    public func weakPartner(of i: Int, rng: inout Rng) -> Int? {
        let ls = labels(of: i)
        let start = rng.below(ls.count)
        for t in 0..<ls.count {
            let pool = clips(of: Int(ls[ls.startIndex + (start + t) % ls.count]))
            guard pool.count > 1 else { continue }
            // Uniform over the pool minus i: draw from count−1 slots and step over i's slot.
            var j = Int(pool[pool.startIndex + rng.below(pool.count - 1)])
            if j == i { j = Int(pool[pool.endIndex - 1]) }
            return j
        }
        return nil
    }

    /// Bytes held, for reports.
    public var bytes: Int {
        primary.count * 4 + labelStart.count * 4 + labelList.count * 4 + classStart.count * 8 + classClips.count * 4
    }
}

import AVTensor
