import AVData

/// The audio loader `avtool data pack` uses.
enum AudioLoaders {
    static let standard: AudioLoader = Packer.sameRateLoader
}
