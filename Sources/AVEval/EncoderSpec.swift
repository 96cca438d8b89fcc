import Foundation
import AVAudio
import AVModel

/// An evaluation, export or inference failure that names the file (and row, tensor or key).
public struct EvalError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Everything needed to rebuild an encoder and its front-end: the content of `encoder.json` in an
/// export folder, and of the `encoder` metadata entry of a training checkpoint.
public struct EncoderSpec: Codable, Equatable, Sendable {
    public static let formatName = "avtrain-encoder"
    public static let currentVersion = 1

    /// Where the weights came from.
    public struct Source: Codable, Equatable, Sendable {
        /// The checkpoint path ("" when unknown, e.g. random weights for a benchmark).
        public var checkpoint: String
        /// Batches consumed when it was written.
        public var step: Int
        /// True if the weights are the EMA teacher's.
        public var ema: Bool
        public init(checkpoint: String, step: Int, ema: Bool) { self.checkpoint = checkpoint; self.step = step; self.ema = ema }
    }

    public var format = EncoderSpec.formatName
    public var version = EncoderSpec.currentVersion
    /// The Swin encoder (input size = the front-end's image, output = `embeddingDim`).
    public var model: SwinConfig
    /// The audio front-end: waveform rate, clip length, log-mel settings, normalisation, folding.
    public var frontend: FrontEndConfig
    /// Output width D (the CLIP embedding width of the training data).
    public var embeddingDim: Int
    public var source: Source
    /// The learnt logit scale s = min(exp(raw), 100), when known.
    public var logitScale: Float?
    /// File name of the class embeddings next to the weights, when the export carries one.
    public var classEmbeddings: String?
    /// timm `SwinTransformer` keyword arguments that rebuild the same network
    /// (`timm.models.swin_transformer.SwinTransformer(**timm)`), for Python users.
    public var timm: TimmArguments

    /// The `SwinTransformer(**kwargs)` arguments of timm 1.0 for this model.
    public struct TimmArguments: Codable, Equatable, Sendable {
        public var img_size: [Int]
        public var patch_size: Int
        public var in_chans: Int
        public var num_classes: Int
        public var embed_dim: Int
        public var depths: [Int]
        public var num_heads: [Int]
        public var window_size: Int
        public var mlp_ratio: Float
        public var global_pool: String
    }

    public init(model: SwinConfig, frontend: FrontEndConfig, source: Source, logitScale: Float? = nil) {
        self.model = model
        self.frontend = frontend
        self.embeddingDim = model.embeddingSize
        self.source = source
        self.logitScale = logitScale
        timm = TimmArguments(img_size: model.imageSize, patch_size: model.patchSize, in_chans: model.inChannels,
                             num_classes: model.embeddingSize, embed_dim: model.embedDim, depths: model.depths,
                             num_heads: model.numHeads, window_size: model.windowSize, mlp_ratio: model.mlpRatio,
                             global_pool: "avg")
    }

    /// Pretty JSON with sorted keys (identical specs give identical bytes).
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        var d = try e.encode(self)
        d.append(UInt8(ascii: "\n"))
        return d
    }

    /// Decodes and checks a spec; `origin` (a file, or "checkpoint X metadata 'encoder'") names it in errors.
    public static func decode(_ data: Data, origin: String) throws -> EncoderSpec {
        let s: EncoderSpec
        do { s = try JSONDecoder().decode(EncoderSpec.self, from: data) } catch {
            throw EvalError("\(origin): not a valid encoder spec: \(Self.describe(error))")
        }
        guard s.format == formatName else { throw EvalError("\(origin): format is '\(s.format)', expected '\(formatName)'") }
        guard s.version == currentVersion else {
            throw EvalError("\(origin): format version \(s.version) is not supported (this build reads \(currentVersion))")
        }
        try s.validate(origin: origin)
        return s
    }

    /// Checks that the model, the front-end and the embedding width agree with each other.
    public func validate(origin: String) throws {
        do { try frontend.validate() } catch { throw EvalError("\(origin): frontend: \(error)") }
        guard embeddingDim > 0, embeddingDim == model.embeddingSize else {
            throw EvalError("\(origin): embedding_dim \(embeddingDim) disagrees with model.embeddingSize \(model.embeddingSize)")
        }
        guard model.imageSize == [frontend.imageHeight, frontend.imageWidth] else {
            throw EvalError("\(origin): model.imageSize \(model.imageSize) is not the front-end's image "
                            + "\(frontend.imageHeight)×\(frontend.imageWidth)")
        }
        guard model.inChannels == 1 else { throw EvalError("\(origin): model.inChannels is \(model.inChannels), the front-end gives 1") }
        let dims = [model.embedDim, model.patchSize, model.windowSize] + model.depths + model.numHeads
        guard dims.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }), model.depths.count <= 8,
              model.mlpRatio > 0, model.mlpRatio <= 64, embeddingDim <= 1 << 16 else {
            throw EvalError("\(origin): model sizes out of range: \(model)")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let k, let c): return "missing key '\((c.codingPath + [k]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        default: return "\(error)"
        }
    }
}
