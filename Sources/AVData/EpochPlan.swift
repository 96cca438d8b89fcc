import AVTensor

/// Which clips each rank sees in an epoch: a permutation of all clip ids drawn from (seed, epoch),
/// cut into `worldSize` equal contiguous slices (drop-last: the N mod worldSize clips at the end of
/// the permutation are left out this epoch, and a different set next epoch), and each slice cut
/// into whole batches (a rank's last partial batch is dropped too, so every rank steps the same
/// number of times).
public struct EpochPlan: Sendable {
    /// Total clips, this rank, the number of ranks and the batch size per rank.
    public let clips: Int, rank: Int, worldSize: Int, batchSize: Int

    public init(clips: Int, rank: Int, worldSize: Int, batchSize: Int) {
        precondition(worldSize > 0 && rank >= 0 && rank < worldSize && batchSize > 0)
        self.clips = clips; self.rank = rank; self.worldSize = worldSize; self.batchSize = batchSize
    }

    /// Clips per rank per epoch (before cutting into batches).
    public var perRank: Int { clips / worldSize }
    /// Batches per rank per epoch.
    public var batches: Int { perRank / batchSize }

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
        let start = rank * perRank
        return p[start..<(start + batches * batchSize)]
    }
}
