import AVTensor

/// One rank's batch. Tensors are [B, H, W] for images and [B, D] for embeddings.
public struct Batch: @unchecked Sendable {
    public let epoch: Int
    /// Position of this batch in the rank's epoch (0, 1, …).
    public let index: Int
    /// Log-mel images (training: random crop) and their SpecAugment views.
    public let images: Tensor
    public let augmented: Tensor
    /// One of the clip's K caption embeddings and one of its F frame embeddings (seeded choice).
    public let text: Tensor
    public let image: Tensor
    /// A frame embedding of a different clip that shares a label (the weak pair).
    public let weakImage: Tensor
    /// Primary label per clip, and every label per clip (multi-label data).
    public internal(set) var labels: [Int32]
    public internal(set) var labelSets: [[Int32]]
    /// Global clip ids (into the manifest's concatenated shards) and the weak partners' ids.
    public internal(set) var clipIDs: [Int]
    public internal(set) var weakClipIDs: [Int]
    /// Which caption and which frame was picked per clip.
    public internal(set) var captionIndex: [Int]
    public internal(set) var frameIndex: [Int]

    public var size: Int { labels.count }

    init(epoch: Int, index: Int, size b: Int, height: Int, width: Int, dim: Int) {
        self.epoch = epoch; self.index = index
        images = Tensor([b, height, width]); augmented = Tensor([b, height, width])
        text = Tensor([b, dim]); image = Tensor([b, dim]); weakImage = Tensor([b, dim])
        labels = Array(repeating: 0, count: b); labelSets = Array(repeating: [], count: b)
        clipIDs = Array(repeating: 0, count: b); weakClipIDs = Array(repeating: 0, count: b)
        captionIndex = Array(repeating: 0, count: b); frameIndex = Array(repeating: 0, count: b)
    }
}
