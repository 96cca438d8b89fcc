/// Hyper-parameters of the Swin audio encoder (timm `SwinTransformer` semantics).
public struct SwinConfig: Sendable, Equatable, Codable {
    /// Input image height × width (mel bins × frames after folding).
    public var imageSize: [Int]
    public var patchSize: Int = 4
    public var inChannels: Int = 1
    public var embedDim: Int
    public var depths: [Int]
    public var numHeads: [Int]
    public var windowSize: Int
    public var mlpRatio: Float = 4
    /// Output size of `head.fc` (the CLIP embedding width).
    public var embeddingSize: Int = 512
    public var dropPathRate: Float = 0.1

    public init(imageSize: [Int], patchSize: Int = 4, inChannels: Int = 1, embedDim: Int, depths: [Int],
                numHeads: [Int], windowSize: Int, mlpRatio: Float = 4, embeddingSize: Int = 512,
                dropPathRate: Float = 0.1) {
        self.imageSize = imageSize; self.patchSize = patchSize; self.inChannels = inChannels
        self.embedDim = embedDim; self.depths = depths; self.numHeads = numHeads
        self.windowSize = windowSize; self.mlpRatio = mlpRatio; self.embeddingSize = embeddingSize
        self.dropPathRate = dropPathRate
    }

    /// Named presets: `tiny` (tests, demo), `swin-t`, `swin-s`, `swin-b`.
    public static func preset(_ name: String) -> SwinConfig? {
        switch name {
        case "tiny":
            return SwinConfig(imageSize: [64, 64], embedDim: 16, depths: [2, 2], numHeads: [2, 4], windowSize: 4,
                              embeddingSize: 64, dropPathRate: 0)
        case "swin-t":
            return SwinConfig(imageSize: [256, 256], embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: 8)
        case "swin-s":
            return SwinConfig(imageSize: [256, 256], embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], windowSize: 8,
                              dropPathRate: 0.2)
        case "swin-b":
            return SwinConfig(imageSize: [256, 256], embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], windowSize: 8,
                              dropPathRate: 0.3)
        default:
            return nil
        }
    }

    /// The names `preset` accepts.
    public static let presetNames = ["tiny", "swin-t", "swin-s", "swin-b"]

    /// Channels of stage `i` (doubling after each patch merging).
    public func stageDim(_ i: Int) -> Int { embedDim << i }

    /// Channels of the final stage (input to the final norm and the head).
    public var finalDim: Int { stageDim(depths.count - 1) }

    /// Estimated activation bytes for `batch` samples before any buffer is planned (to refuse
    /// impossible sizes without allocating): per patch token and `embedDim` channel, ~128 floats
    /// for a training model (swin-t at 256²: 158 MiB per sample ≈ 105) and ~24 forward-only.
    public func estimatedActivationBytes(batch: Int, forwardOnly: Bool) -> Double {
        let tokens = Double(imageSize.reduce(1) { $0 * max(1, $1) }) / Double(max(1, patchSize * patchSize))
        return 4 * (forwardOnly ? 24 : 128) * tokens * Double(embedDim) * Double(batch)
    }
}
