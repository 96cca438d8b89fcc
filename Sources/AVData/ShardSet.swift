import Foundation

/// All shards of a manifest as one clip-id space: global clip id → (shard, row), the label index,
/// and a bounded pool of open shard handles (least recently used are closed). Opening validates
/// every shard against the manifest. Like `Shard`, not thread-safe: the loader uses it from its
/// reader thread only.
public final class ShardSet {
    public let manifest: Manifest
    /// Paths of the usable shards and the first global clip id of each (plus the total at the end).
    public let paths: [String]
    public let offsets: [Int]
    public let labels: LabelIndex
    /// Problems found while opening (with `.skip`: the shards left out).
    public private(set) var report: [DataError] = []
    let maxOpen: Int
    private var open: [Int: Shard] = [:]
    private var lastUse: [Int: Int] = [:]
    private var clock = 0

    /// Total clips.
    public var count: Int { offsets.last ?? 0 }

    /// Opens the shards of `manifest`. With `.stop` the first bad shard throws; with `.skip` it is
    /// left out and recorded in `report`.
    public init(manifest: Manifest, onBadShard: BadClipPolicy = .stop, maxOpenShards: Int = 64) throws {
        self.manifest = manifest
        maxOpen = max(1, maxOpenShards)
        var paths: [String] = [], offsets = [0], primary: [Int32] = [], multi: [[Int32]?] = []
        var report: [DataError] = []
        let nc = manifest.layout.numClasses
        for i in 0..<manifest.shards.count {
            let path = manifest.shardPath(i)
            do {
                let s = try Shard(path: path)
                try s.check(against: manifest.layout)
                if s.count != manifest.shards[i].clips {
                    throw DataError(file: path, reason: "holds \(s.count) clips but the manifest says \(manifest.shards[i].clips)")
                }
                let lab = try s.labels()
                var m: [[Int32]?] = []
                m.reserveCapacity(s.count)
                let block = 4096
                for start in stride(from: 0, to: s.count, by: block) {
                    let rows = min(block, s.count - start)
                    let t = try s.targets(start: start, rows: rows)
                    for r in 0..<rows {
                        let row = t[(r * nc)..<((r + 1) * nc)]
                        let hot = row.indices.filter { row[$0] != 0 }.map { Int32($0 - r * nc) }
                        let p = lab[start + r]
                        guard p >= 0 && Int(p) < nc else {
                            throw DataError(file: path, dataset: ShardSchema.label, index: start + r, reason: "label \(p) outside 0..<\(nc)")
                        }
                        guard row[r * nc + Int(p)] != 0 else {       // the rule verify applies too
                            throw DataError(file: path, dataset: ShardSchema.target, index: start + r, reason: "primary label \(p) is not set in target")
                        }
                        m.append(hot == [p] ? nil : [p] + hot.filter { $0 != p })
                    }
                }
                paths.append(path)
                offsets.append(offsets.last! + s.count)
                primary += lab
                multi += m
            } catch let e as DataError {
                if onBadShard == .stop { throw e }
                report.append(e)
            }
        }
        self.paths = paths; self.offsets = offsets; self.report = report
        labels = LabelIndex(primary: primary, multi: multi, numClasses: nc)
    }

    /// (shard index, row) of global clip `id`.
    public func locate(_ id: Int) -> (shard: Int, row: Int) {
        var lo = 0, hi = paths.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= id { lo = mid } else { hi = mid - 1 }
        }
        return (lo, id - offsets[lo])
    }

    /// The open shard `i` (opening it, and closing the least recently used one beyond the limit).
    public func shard(_ i: Int) throws -> Shard {
        clock += 1
        lastUse[i] = clock
        if let s = open[i] { return s }
        if open.count >= maxOpen, let victim = lastUse.filter({ open[$0.key] != nil }).min(by: { $0.value < $1.value })?.key {
            open[victim] = nil
        }
        let s = try Shard(path: paths[i])
        open[i] = s
        return s
    }

    /// Closes every open handle.
    public func closeAll() { HDF5Access.run { open.removeAll() } }

    deinit { closeAll() }   // HDF5 closes happen under the lock too
}
