import AVTensor

/// Which clips each rank sees in an epoch: a permutation of all clip ids drawn from (seed, epoch),
/// cut into global batches of G = worldSize × batchSize clips (drop-last: the N mod G clips at the
/// end of the permutation are left out this epoch, and a different set next epoch). Global batch s
/// is perm[s·G ..< (s+1)·G] and rank r takes its part perm[s·G + r·B ..< s·G + (r+1)·B], so the
/// global batch of a step is the same for every world size with the same G (a 2-rank run sees the
/// data a 1-rank run with twice the batch sees).
public struct EpochPlan: Sendable {
    /// Total clips, this rank, the number of ranks and the batch size per rank.
    public let clips: Int, rank: Int, worldSize: Int, batchSize: Int

    public init(clips: Int, rank: Int, worldSize: Int, batchSize: Int) {
        precondition(worldSize > 0 && rank >= 0 && rank < worldSize && batchSize > 0)
        self.clips = clips; self.rank = rank; self.worldSize = worldSize; self.batchSize = batchSize
    }

    /// Clips per global batch (all ranks).
    public var globalBatch: Int { worldSize * batchSize }
    /// Batches per rank per epoch (= global batches per epoch).
    public var batches: Int { clips / globalBatch }

    /// The seed of everything random in (seed, epoch, stream, index).
    public static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ d: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in [a, b, c, d] {
            h ^= v &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
            h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        }
        return h ^ (h >> 29)
    }

    /// The global permutation for `epoch` (identical on every rank), as Int32 to keep 2M clips at 8 MB.
    public static func permutation(clips: Int, seed: UInt64, epoch: Int) -> [Int32] {
        var p = (0..<clips).map { Int32($0) }
        var rng = Rng(seed: mix(seed, UInt64(epoch), 1))
        if clips > 1 { for i in stride(from: clips - 1, to: 0, by: -1) { p.swapAt(i, rng.below(i + 1)) } }
        return p
    }

    /// This rank's clip ids for `epoch`, in delivery order (`batches * batchSize` of them).
    public func share(seed: UInt64, epoch: Int) -> ArraySlice<Int32> {
        let p = EpochPlan.permutation(clips: clips, seed: seed, epoch: epoch)
        var mine: [Int32] = []
        mine.reserveCapacity(batches * batchSize)
        for s in 0..<batches {
            let start = s * globalBatch + rank * batchSize
            mine.append(contentsOf: p[start..<(start + batchSize)])
        }
        return mine[...]
    }
}
