import AVTensor
import Dispatch

/// Outcome of a batch job over files that skips and reports bad files instead of stopping.
public struct AudioBatch<Value> {
    /// (file, value) for each file that succeeded, in input order.
    public var results: [(file: String, value: Value)]
    /// (file, error) for each file that failed, in input order.
    public var failures: [(file: String, error: Error)]

    /// Runs `body` on each path (on up to `threads` threads; `body` must then be safe to call
    /// concurrently), collecting values and errors.
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
