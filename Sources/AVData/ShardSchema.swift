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
}
