import AVLoss
import TestSupport

/// Random loss inputs for a batch of `n` clips of three classes: every embedding lies near its
/// clip's class prototype, so the losses are in a realistic range with hard negatives.
enum LossTestData {
    static func inputs(n: Int, dim: Int, seed: UInt64) -> LossInputs {
        let classes = 3
        let protos = TestSupport.randn(classes * dim, seed: seed)
        let proto = (0..<(n * dim)).map { protos[($0 / dim) % classes * dim + $0 % dim] }
        func near(_ s: UInt64, _ std: Float) -> [Float] {
            zip(proto, TestSupport.randn(n * dim, seed: s, std: std)).map { $0 + $1 }
        }
        return LossInputs(dim: dim, x: near(seed + 1, 1), xAug: near(seed + 2, 1), xMomentum: near(seed + 3, 1),
                          text: near(seed + 4, 0.3), image: near(seed + 5, 0.6), weakImage: near(seed + 6, 0.6))
    }

    /// Weights with every term on (distinct values, so a wrong weighting shows).
    static let allTerms = LossWeights(audioText: 1, audioImage: 0.5, audioAudio: 0.3, weakKD: 0.7, momentumKD: 0.25,
                                      tauKD: 0.1)

    /// One-hot weights for each term, then all terms together.
    static let cases: [(String, LossWeights)] =
        LossTerm.allCases.map { ($0.rawValue, LossWeights.only($0)) } + [("total", allTerms)]
}
