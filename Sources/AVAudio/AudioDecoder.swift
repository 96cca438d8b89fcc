import AVTensor
import Dispatch

/// Decoding sound files into model-rate mono waveforms.
public enum AudioDecoder {
    /// Decode any libsndfile format, mix to mono, resample to `sampleRate`. Throws AudioError naming the file.
    public static func load(_ path: String, sampleRate: Int) throws -> [Float] {
        guard sampleRate > 0 else { throw AudioError(file: path, reason: "requested sample rate \(sampleRate) is not positive") }
        let d = try AudioFile.read(path)
        return Resampler.resample(d.mono(), from: d.sampleRate, to: sampleRate)
    }

    /// Loads every file, skipping bad ones: results in input order plus (file, error) for each failure.
    /// Files are decoded on up to `threads` threads.
    public static func loadAll(_ paths: [String], sampleRate: Int, threads: Int = 1) -> AudioBatch<[Float]> {
        AudioBatch.process(paths, threads: threads) { try load($0, sampleRate: sampleRate) }
    }
}

/// Outcome of a batch job over files that skips and reports bad files instead of stopping.
public struct AudioBatch<Value> {
    /// (file, value) for each file that succeeded, in input order.
    public var results: [(file: String, value: Value)]
    /// (file, error) for each file that failed, in input order.
    public var failures: [(file: String, error: Error)]

    /// Runs `body` on each path (on up to `threads` threads), collecting values and errors.
    public static func process(_ paths: [String], threads: Int = 1, _ body: (String) throws -> Value) -> AudioBatch<Value> {
        var slots = [Result<Value, Error>?](repeating: nil, count: paths.count)
        slots.withUnsafeMutableBufferPointer { sb in
            let box = UncheckedBox(sb)
            let chunks = max(1, min(threads, paths.count))
            withoutActuallyEscaping(body) { f in
                let fb = UncheckedBox(f)
                let work = { (c: Int) in
                    for i in stride(from: c, to: paths.count, by: chunks) {
                        box.value[i] = Result { try fb.value(paths[i]) }
                    }
                }
                if chunks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
            }
        }
        var out = AudioBatch(results: [], failures: [])
        for (i, r) in slots.enumerated() {
            switch r! {
            case .success(let v): out.results.append((paths[i], v))
            case .failure(let e): out.failures.append((paths[i], e))
            }
        }
        return out
    }
}
