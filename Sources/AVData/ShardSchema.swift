/// Dataset and attribute names inside an avtrain HDF5 shard (see docs/data-format.md).
/// Names follow the PANNs/HTSAT AudioSet packing where one exists.
public enum ShardSchema {
    public static let audioName = "audio_name"
    public static let waveform = "waveform"
    public static let target = "target"
    public static let label = "label"
    public static let textEmbedding = "text_embedding"
    public static let imageEmbedding = "image_embedding"
    public static let classNames = "class_names"
    /// Optional: the row of each clip in the packing CSV / `.npy` arrays (int64 [N]).
    public static let sourceRow = "source_row"

    /// Datasets every shard must hold.
    public static let required = [audioName, waveform, target, label, textEmbedding, imageEmbedding, classNames]

    /// Root attributes.
    public enum Attr {
        public static let format = "format"                    // "avtrain-shard"
        public static let formatVersion = "format_version"     // 1
        public static let sampleRate = "sample_rate"
        public static let clipSamples = "clip_samples"
        public static let numClasses = "num_classes"
        public static let captionsPerClip = "captions_per_clip"
        public static let framesPerClip = "frames_per_clip"
        public static let embeddingDim = "embedding_dim"
        public static let embeddingModel = "embedding_model"
        public static let dataset = "dataset"
        public static let split = "split"
    }

    /// The `format` attribute's value.
    public static let formatName = "avtrain-shard"
    /// The current format version.
    public static let version = 1
}

/// Element type of the stored embeddings.
public enum EmbeddingDType: String, Codable, Sendable, CaseIterable {
    case float16, float32
}

/// What every shard of one dataset split shares: rates, lengths, classes and embedding shapes.
public struct ShardLayout: Codable, Sendable, Equatable {
    /// Dataset name (e.g. "vggsound", "demo") and split ("train", "eval").
    public var dataset: String
    public var split: String
    public var sampleRate: Int
    /// Samples per clip (every waveform row has exactly this many; shorter audio is zero-padded).
    public var clipSamples: Int
    public var classNames: [String]
    /// K caption variants per clip and F video frames per clip.
    public var captionsPerClip: Int
    public var framesPerClip: Int
    /// Embedding width D.
    public var embeddingDim: Int
    public var embeddingModel: String
    public var embeddingDType: EmbeddingDType

    public init(dataset: String, split: String, sampleRate: Int, clipSamples: Int, classNames: [String],
                captionsPerClip: Int, framesPerClip: Int, embeddingDim: Int, embeddingModel: String,
                embeddingDType: EmbeddingDType) {
        self.dataset = dataset; self.split = split; self.sampleRate = sampleRate; self.clipSamples = clipSamples
        self.classNames = classNames; self.captionsPerClip = captionsPerClip; self.framesPerClip = framesPerClip
        self.embeddingDim = embeddingDim; self.embeddingModel = embeddingModel; self.embeddingDType = embeddingDType
    }

    public var numClasses: Int { classNames.count }

    enum CodingKeys: String, CodingKey {
        case dataset, split
        case sampleRate = "sample_rate", clipSamples = "clip_samples", classNames = "class_names"
        case captionsPerClip = "captions_per_clip", framesPerClip = "frames_per_clip"
        case embeddingDim = "embedding_dim", embeddingModel = "embedding_model", embeddingDType = "embedding_dtype"
    }
}
