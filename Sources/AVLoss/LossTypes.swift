/// The five terms of the objective (SPEC §5), named as in the fixtures and the config.
public enum LossTerm: String, CaseIterable, Sendable {
    /// ½[CE(s·a tᵀ) + CE(s·t aᵀ)]: audio against the CLIP text embedding.
    case audioText = "audio_text"
    /// ½[CE(s·a vᵀ) + CE(s·v aᵀ)]: audio against the CLIP image embedding of the same clip.
    case audioImage = "audio_image"
    /// ½[CE(s·a ãᵀ) + CE(s·ã aᵀ)]: audio against its SpecAugment view (gradient into both).
    case audioAudio = "audio_audio"
    /// τ²·½[KL(softmax(t wᵀ/τ) ‖ softmax(a wᵀ/τ)) + KL(softmax(w tᵀ/τ) ‖ softmax(w aᵀ/τ))].
    case weakKD = "weak_kd"
    /// KL(softmax(s̄·â vᵀ) ‖ softmax(s·a vᵀ)) + KL(softmax(s̄·v âᵀ) ‖ softmax(s·v aᵀ)).
    case momentumKD = "momentum_kd"
}

/// Weights of the loss terms (a zero weight skips the term entirely) and the distillation
/// temperature.
public struct LossWeights: Sendable, Equatable {
    public var audioText: Float
    public var audioImage: Float
    public var audioAudio: Float
    public var weakKD: Float
    public var momentumKD: Float
    /// Temperature τ of `weak_kd`.
    public var tauKD: Float

    public init(audioText: Float = 0, audioImage: Float = 0, audioAudio: Float = 0, weakKD: Float = 0,
                momentumKD: Float = 0, tauKD: Float = 0.1) {
        self.audioText = audioText
        self.audioImage = audioImage
        self.audioAudio = audioAudio
        self.weakKD = weakKD
        self.momentumKD = momentumKD
        self.tauKD = tauKD
    }

    /// Weight 1 on `term` and 0 elsewhere.
    public static func only(_ term: LossTerm, tauKD: Float = 0.1) -> LossWeights {
        var w = LossWeights(tauKD: tauKD)
        w[term] = 1
        return w
    }

    /// The weight of one term.
    public subscript(term: LossTerm) -> Float {
        get {
            switch term {
            case .audioText: return audioText
            case .audioImage: return audioImage
            case .audioAudio: return audioAudio
            case .weakKD: return weakKD
            case .momentumKD: return momentumKD
            }
        }
        set {
            switch term {
            case .audioText: audioText = newValue
            case .audioImage: audioImage = newValue
            case .audioAudio: audioAudio = newValue
            case .weakKD: weakKD = newValue
            case .momentumKD: momentumKD = newValue
            }
        }
    }
}

/// This rank's share of the batch: n clips, each array row-major [n, dim]. Head outputs are raw
/// (normalised inside); teacher embeddings need not be normalised. An array a term with zero
/// weight does not use may be empty (`xAug` for audio_audio, `xMomentum` for momentum_kd,
/// `text` for audio_text/weak_kd, `image` for audio_image/momentum_kd, `weakImage` for weak_kd).
public struct LossInputs: Sendable {
    /// Embedding size D.
    public var dim: Int
    /// Audio head outputs x.
    public var x: [Float]
    /// Head outputs of the SpecAugment view.
    public var xAug: [Float]
    /// Head outputs of the momentum (EMA) encoder (no gradient).
    public var xMomentum: [Float]
    /// CLIP text embeddings of the clips' captions/labels.
    public var text: [Float]
    /// CLIP image embeddings of the clips' own frames.
    public var image: [Float]
    /// CLIP image embeddings of weakly paired images (another clip with the same label).
    public var weakImage: [Float]

    public init(dim: Int, x: [Float], xAug: [Float] = [], xMomentum: [Float] = [], text: [Float] = [],
                image: [Float] = [], weakImage: [Float] = []) {
        self.dim = dim
        self.x = x
        self.xAug = xAug
        self.xMomentum = xMomentum
        self.text = text
        self.image = image
        self.weakImage = weakImage
    }

    /// Number of clips n (rows of x).
    public var count: Int { dim > 0 ? x.count / dim : 0 }

    /// Rows `range` of every non-empty array (e.g. one rank's share of a global batch).
    public func rows(_ range: Range<Int>) -> LossInputs {
        func cut(_ a: [Float]) -> [Float] { a.isEmpty ? [] : Array(a[range.lowerBound * dim..<range.upperBound * dim]) }
        return LossInputs(dim: dim, x: cut(x), xAug: cut(xAug), xMomentum: cut(xMomentum), text: cut(text),
                          image: cut(image), weakImage: cut(weakImage))
    }
}

/// The objective on the global batch, and the gradients for this rank's clips.
public struct LossResult: Sendable {
    /// Unweighted value of each active term (keys are `LossTerm.rawValue`), global-batch mean.
    public var values: [String: Float]
    /// Σ weight · value over the active terms.
    public var total: Float
    /// d total / d x for this rank's clips, [n, D].
    public var gradX: [Float]
    /// d total / d xAug for this rank's clips, [n, D] (zeros when audio_audio is off).
    public var gradXAug: [Float]
    /// d total / d logit_scale (zero while exp(logit_scale) is clamped).
    public var gradLogitScale: Float
    /// The scale s = min(exp(logit_scale), 100) that was used.
    public var scale: Float
}

/// Bad loss input, naming the array, rank and row.
public struct LossError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "loss: \(message)" }
}
