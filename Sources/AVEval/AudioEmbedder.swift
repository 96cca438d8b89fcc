import Foundation
import AVTensor
import AVAudio
import AVModel

/// Sound → embedding with a forward-only encoder: the shared inference path of `avembed`,
/// `avtool eval` and the trainer's periodic evaluation.
///
/// A waveform (at the front-end's rate) no longer than the model's clip is one window, padded as
/// in training evaluation (`FrontEnd.image`, `training: false`). A longer one is cut into windows
/// of `clipSamples` starting every `hopSamples`, the last aligned to the end so the tail is
/// covered; the window embeddings (raw head outputs) are averaged. Windows of many clips share
/// encoder batches of up to `batch`.
public final class AudioEmbedder {
    public let frontEnd: FrontEnd
    public let encoder: SwinEncoder
    /// Windows per encoder call (the encoder's planned batch).
    public var batch: Int { encoder.maxBatch }
    /// Samples between window starts in long clips (default: half a clip).
    public let hopSamples: Int
    /// Called with each encoder batch's input ([n, H, W] log-mel images) before the forward pass
    /// (e.g. `avembed --save-inputs`, to check the same input in another framework).
    public var inputObserver: ((UnsafePointer<Float>, Int) -> Void)?

    /// An embedder around a loaded forward-only `encoder`; `hopSeconds` (> 0) sets the window hop.
    public init(encoder: SwinEncoder, frontEnd: FrontEnd, hopSeconds: Double? = nil) throws {
        let c = frontEnd.config
        guard encoder.config.imageSize == [c.imageHeight, c.imageWidth] else {
            throw EvalError("encoder input \(encoder.config.imageSize) is not the front-end's image \(c.imageHeight)×\(c.imageWidth)")
        }
        self.encoder = encoder
        // Measured on swin-t, 2 threads (docs/performance.md): at small batches OpenBLAS's own
        // threading beats splitting rows (late stages have too few rows to split); from batch 8 on,
        // splitting rows is faster.
        encoder.gemmThreading = encoder.maxBatch >= 8 ? .rows : .blas
        self.frontEnd = frontEnd
        if let h = hopSeconds {
            guard h.isFinite, h > 0, h * Double(c.sampleRate) >= 1, h * Double(c.sampleRate) <= Double(c.clipSamples) else {
                throw EvalError("--hop \(h) s must be positive and at most the model's clip (\(Double(c.clipSamples) / Double(c.sampleRate)) s)")
            }
            hopSamples = Int((h * Double(c.sampleRate)).rounded())
        } else {
            hopSamples = max(1, c.clipSamples / 2)
        }
    }

    /// Loads `weights` into a forward-only encoder planned for `batch` windows.
    public convenience init(weights: EncoderWeights, batch: Int, hopSeconds: Double? = nil) throws {
        guard batch > 0, batch <= 4096 else { throw EvalError("batch \(batch) must be in 1...4096") }
        let fe: FrontEnd
        do { fe = try FrontEnd(weights.spec.frontend) } catch { throw EvalError("\(weights.origin): \(error)") }
        try self.init(encoder: try weights.makeEncoder(batch: batch), frontEnd: fe, hopSeconds: hopSeconds)
    }

    /// Embedding width D.
    public var dim: Int { encoder.config.embeddingSize }

    /// Start samples of the windows of a clip of `count` samples.
    public func windowStarts(count: Int) -> [Int] {
        let clip = frontEnd.config.clipSamples
        guard count > clip else { return [0] }
        var starts = Array(stride(from: 0, to: count - clip, by: hopSamples))
        starts.append(count - clip)
        return starts
    }

    /// Embeds one waveform (at the front-end's rate).
    public func embed(_ waveform: [Float]) -> [Float] {
        embed(count: 1, concurrentLoad: false) { _ in waveform }[0].get(or: [])
    }

    /// Embeds `count` clips whose waveforms `load(i)` returns (at the front-end's rate; it may
    /// throw, e.g. for a bad file: that clip's result is the error and the others go on). With
    /// `concurrentLoad`, `load` runs on several threads at once. Clips are taken in chunks, so
    /// memory holds one chunk of waveforms. `progress(done)` is called after each chunk.
    public func embed(count: Int, concurrentLoad: Bool, progress: ((Int) -> Void)? = nil,
                      load: (Int) throws -> [Float]) -> [Result<[Float], Error>] {
        var results = [Result<[Float], Error>]()
        results.reserveCapacity(count)
        let chunk = max(4 * batch, 16)
        var lo = 0
        while lo < count {
            let hi = min(count, lo + chunk)
            var waves = [Result<[Float], Error>?](repeating: nil, count: hi - lo)
            waves.withUnsafeMutableBufferPointer { wb in
                let box = UncheckedBox(wb)
                withoutActuallyEscaping(load) { l in
                    let lb = UncheckedBox(l)
                    let work = { (i: Int) in box.value[i] = Result { try lb.value(lo + i) } }
                    if concurrentLoad && Threads.count > 1 {
                        Threads.parallelFor(hi - lo) { r in for i in r { work(i) } }
                    } else {
                        for i in 0..<(hi - lo) { work(i) }
                    }
                }
            }
            results += embedLoaded(waves.map { $0! })
            lo = hi
            progress?(lo)
        }
        return results
    }

    /// Embeds decoded waveforms (failures pass through).
    func embedLoaded(_ waves: [Result<[Float], Error>]) -> [Result<[Float], Error>] {
        // Every window of the chunk: (clip, start).
        var windows: [(clip: Int, start: Int)] = []
        for (i, w) in waves.enumerated() {
            if case .success(let x) = w { for s in windowStarts(count: x.count) { windows.append((i, s)) } }
        }
        let d = dim, hw = encoder.inputCount, clip = frontEnd.config.clipSamples
        var sums = [[Float]](repeating: [], count: waves.count)
        let input = Tensor([batch, hw])
        var b0 = 0
        while b0 < windows.count {
            let n = min(batch, windows.count - b0)
            let inp = UncheckedBox(input.ptr)
            Threads.parallelFor(n) { r in
                var rng = Rng(seed: 0)                      // evaluation crops draw nothing
                for k in r {
                    let (ci, s) = windows[b0 + k]
                    guard case .success(let x) = waves[ci] else { continue }
                    let piece = x.count > clip ? Array(x[s..<(s + clip)]) : x
                    let img = self.frontEnd.image(waveform: piece, training: false, rng: &rng)
                    img.withUnsafeBufferPointer { inp.value.advanced(by: k * hw).update(from: $0.baseAddress!, count: hw) }
                }
            }
            inputObserver?(input.ptr, n)
            var rng = Rng(seed: 0)
            let out = encoder.forward(input: input.ptr, batch: n, training: false, rng: &rng)
            for k in 0..<n {
                let ci = windows[b0 + k].clip
                if sums[ci].isEmpty { sums[ci] = [Float](repeating: 0, count: d) }
                for j in 0..<d { sums[ci][j] += out[k * d + j] }
            }
            b0 += n
        }
        return waves.enumerated().map { i, w in
            w.map { x in
                let inv = 1 / Float(windowStarts(count: x.count).count)
                return sums[i].map { $0 * inv }
            }
        }
    }
}

extension Result {
    /// The success value, or `fallback` on failure.
    func get(or fallback: Success) -> Success { (try? get()) ?? fallback }
}

/// Unit-length copies of the rows of a flat N × D matrix (`L2Normalize`; zero rows stay zero).
public func normalizedRows(_ x: [Float], dim d: Int) -> [Float] {
    let rows = d > 0 ? x.count / d : 0
    var out = [Float](repeating: 0, count: x.count), norms = [Float](repeating: 0, count: max(rows, 1))
    x.withUnsafeBufferPointer { xb in
        out.withUnsafeMutableBufferPointer { ob in
            norms.withUnsafeMutableBufferPointer { nb in
                if rows > 0 { L2Normalize.forward(out: ob.baseAddress!, norms: nb.baseAddress!, inp: xb.baseAddress!, rows: rows, cols: d) }
            }
        }
    }
    return out
}
