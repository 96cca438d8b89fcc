import Foundation

/// Triangular mel filters with exactly librosa.filters.mel's semantics (computed in double
/// precision, stored as Float), kept sparse: filter m covers bins `start[m] ..< start[m] + count[m]`.
public struct MelFilterbank: Sendable {
    public let nMels: Int
    /// nFFT/2 + 1 frequency bins.
    public let nBins: Int
    /// Non-zero weights of all filters, concatenated.
    public let weights: [Float]
    /// Offset of filter m's first weight in `weights`.
    public let offset: [Int]
    /// First non-zero bin of filter m.
    public let start: [Int]
    /// Number of non-zero bins of filter m (0 for a filter narrower than one bin).
    public let count: [Int]

    /// Builds the filterbank. `htk` selects the HTK mel formula (else Slaney's), `slaneyNorm`
    /// scales each filter to unit area (2 / bandwidth in Hz), as librosa's `norm="slaney"`.
    public init(sampleRate: Int, nFFT: Int, nMels: Int, fmin: Double, fmax: Double, htk: Bool, slaneyNorm: Bool) {
        self.nMels = nMels
        nBins = nFFT / 2 + 1
        let lo = Mel.fromHz(fmin, htk: htk), hi = Mel.fromHz(fmax, htk: htk)
        let melF: [Double] = (0..<(nMels + 2)).map {
            Mel.toHz(lo + (hi - lo) * Double($0) / Double(nMels + 1), htk: htk)
        }
        let fftF: [Double] = (0..<nBins).map { Double($0) * Double(sampleRate) / Double(nFFT) }
        var w = [Float](), off = [Int](), st = [Int](), cnt = [Int]()
        for m in 0..<nMels {
            let dLo = melF[m + 1] - melF[m], dHi = melF[m + 2] - melF[m + 1]
            let enorm = slaneyNorm ? 2 / (melF[m + 2] - melF[m]) : 1
            var row = [Float](repeating: 0, count: nBins)
            for k in 0..<nBins {
                let lower = (fftF[k] - melF[m]) / dLo, upper = (melF[m + 2] - fftF[k]) / dHi
                row[k] = Float(max(0, min(lower, upper)) * enorm)
            }
            let first = row.firstIndex(where: { $0 != 0 }) ?? 0
            let last = row.lastIndex(where: { $0 != 0 }) ?? -1
            off.append(w.count); st.append(first); cnt.append(max(0, last - first + 1))
            if last >= first { w += row[first...last] }
        }
        weights = w; offset = off; start = st; count = cnt
    }

    /// The filterbank as configured.
    public init(_ c: FrontEndConfig) {
        self.init(sampleRate: c.sampleRate, nFFT: c.nFFT, nMels: c.nMels, fmin: Double(c.fmin), fmax: Double(c.fmax),
                  htk: c.melScale == .htk, slaneyNorm: c.melNorm == .slaney)
    }

    /// The dense matrix [nMels, nBins], row-major (librosa's layout).
    public func dense() -> [Float] {
        var d = [Float](repeating: 0, count: nMels * nBins)
        for m in 0..<nMels {
            for j in 0..<count[m] { d[m * nBins + start[m] + j] = weights[offset[m] + j] }
        }
        return d
    }

    /// Frames per block of `applyBlock` (two SIMD16 vectors).
    public static let blockFrames = 32

    /// Mel power of a block of `blockFrames` frames: out[m·32 + j] = Σ_k W[m, k] · power[k·32 + j]
    /// (power is bin-major [nBins, 32], out mel-major [nMels, 32]), vectorised across the frames.
    @inlinable
    public func applyBlock(power: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        typealias V = SIMD16<Float>
        weights.withUnsafeBufferPointer { wb in
            start.withUnsafeBufferPointer { sb in
                count.withUnsafeBufferPointer { cb in
                    let w = wb.baseAddress!
                    var o = 0
                    for m in 0..<nMels {
                        var a0 = V(), a1 = V()
                        var p = UnsafeRawPointer(power + sb[m] * Self.blockFrames)
                        for j in 0..<cb[m] {
                            let c = V(repeating: w[o + j])
                            a0 += c * p.loadUnaligned(as: V.self)
                            a1 += c * p.loadUnaligned(fromByteOffset: 64, as: V.self)
                            p += 128
                        }
                        o += cb[m]
                        let q = UnsafeMutableRawPointer(out + m * Self.blockFrames)
                        q.storeBytes(of: a0, as: V.self)
                        q.storeBytes(of: a1, toByteOffset: 64, as: V.self)
                    }
                }
            }
        }
    }
}

/// Hz ↔ mel conversions of librosa (`htk=True`: 2595·log10(1 + f/700); otherwise Slaney's
/// linear-below-1 kHz, logarithmic-above scale).
public enum Mel {
    static let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = 15.0, logStep = log(6.4) / 27

    public static func fromHz(_ f: Double, htk: Bool) -> Double {
        if htk { return 2595 * log10(1 + f / 700) }
        return f >= minLogHz ? minLogMel + log(f / minLogHz) / logStep : f / fSp
    }

    public static func toHz(_ m: Double, htk: Bool) -> Double {
        if htk { return 700 * (pow(10, m / 2595) - 1) }
        return m >= minLogMel ? minLogHz * exp(logStep * (m - minLogMel)) : fSp * m
    }
}
