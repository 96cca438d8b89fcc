/// The embeddings the objective works on (each L2-normalised, one row per clip).
enum LossField: CaseIterable, Hashable {
    case audio, audioAug, momentum, text, image, weakImage

    /// Upper clamp of s = exp(logit_scale).
    static let maxScale: Float = 100

    /// Name of the `LossInputs` array (for error messages).
    var name: String {
        switch self {
        case .audio: return "x"
        case .audioAug: return "xAug"
        case .momentum: return "xMomentum"
        case .text: return "text"
        case .image: return "image"
        case .weakImage: return "weakImage"
        }
    }

    /// Whether the objective returns a gradient for this input.
    var hasGradient: Bool { self == .audio || self == .audioAug }

    func values(in i: LossInputs) -> [Float] {
        switch self {
        case .audio: return i.x
        case .audioAug: return i.xAug
        case .momentum: return i.xMomentum
        case .text: return i.text
        case .image: return i.image
        case .weakImage: return i.weakImage
        }
    }

    func isUsed(by term: LossTerm) -> Bool {
        term.directions.contains { d in
            d.query == self || d.key == self || d.target?.query == self || d.target?.key == self
        }
    }

    /// Fields any of `terms` reads, in declaration order.
    static func needed(by terms: [LossTerm]) -> [LossField] {
        allCases.filter { f in terms.contains { f.isUsed(by: $0) } }
    }
}

/// One direction of a term: rows of `query` against all rows of `key`, target the diagonal
/// (cross-entropy) or softmax over `target.query · target.keyᵀ` (KL), scaled by s or by 1/τ.
struct LossDirection {
    let query: LossField
    let key: LossField
    let target: (query: LossField, key: LossField)?
    let usesLogitScale: Bool
}

extension LossTerm {
    /// The directions whose row sums, times `factor`, make the term.
    var directions: [LossDirection] {
        switch self {
        case .audioText: return LossDirection.symmetricCE(.audio, .text)
        case .audioImage: return LossDirection.symmetricCE(.audio, .image)
        case .audioAudio: return LossDirection.symmetricCE(.audio, .audioAug)
        case .weakKD:
            return [LossDirection(query: .audio, key: .weakImage, target: (.text, .weakImage), usesLogitScale: false),
                    LossDirection(query: .weakImage, key: .audio, target: (.weakImage, .text), usesLogitScale: false)]
        case .momentumKD:
            return [LossDirection(query: .audio, key: .image, target: (.momentum, .image), usesLogitScale: true),
                    LossDirection(query: .image, key: .audio, target: (.image, .momentum), usesLogitScale: true)]
        }
    }

    /// Multiplier of the summed row losses over a global batch of `total` clips.
    func factor(total: Int, tau: Float) -> Float {
        switch self {
        case .audioText, .audioImage, .audioAudio: return 0.5 / Float(total)
        case .weakKD: return tau * tau * 0.5 / Float(total)
        case .momentumKD: return 1 / Float(total)
        }
    }
}

extension LossDirection {
    /// ½[CE(s·a bᵀ) + CE(s·b aᵀ)] as two directions (the ½ lives in the term's factor).
    static func symmetricCE(_ a: LossField, _ b: LossField) -> [LossDirection] {
        [LossDirection(query: a, key: b, target: nil, usesLogitScale: true),
         LossDirection(query: b, key: a, target: nil, usesLogitScale: true)]
    }
}
