import Foundation
import AVAudio
import AVData
import AVEval

/// Eval shards (a manifest of the HDF5 shard format) as an `EvalSet`: labels are each clip's
/// primary `label`, the paired embeddings are the mean of its K captions and F frames
/// (normalised), and folds — which shards do not record — are `clip index mod 5 + 1` over the
/// manifest's order (5 folds for the linear probe). Waveforms are read on demand, one at a time
/// (HDF5 is serial).
public enum EvalShards {
    /// Folds assigned to shard clips.
    public static let folds = 5

    /// Opens the manifest at `path` (or `path/manifest.json` for a folder).
    public static func load(_ path: String) throws -> EvalSet {
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            ? URL(fileURLWithPath: path).appendingPathComponent("manifest.json").path : path
        let manifest = try Manifest.load(file)
        let l = manifest.layout
        var shards: [Shard] = [], rowOf: [(shard: Int, row: Int)] = [], items: [EvalItem] = []
        var text: [Float] = [], image: [Float] = []
        let d = l.embeddingDim
        for i in manifest.shards.indices {
            let s = try Shard(path: manifest.shardPath(i))
            try s.check(against: l)
            let labels = try s.labels(), names = try s.names()
            for (r, label) in labels.enumerated() {
                guard label >= 0, Int(label) < l.classNames.count else {
                    throw DataError(file: s.path, dataset: "label", index: r, reason: "label \(label) is not a class (0..<\(l.classNames.count))")
                }
                let global = rowOf.count
                rowOf.append((shards.count, r))
                items.append(EvalItem(name: r < names.count ? names[r] : "\(s.path)#\(r)", fold: global % folds + 1, label: Int(label)))
            }
            for (name, k, out) in [("text_embedding", l.captionsPerClip, 0), ("image_embedding", l.framesPerClip, 1)] {
                let all = try s.embeddings(name, start: 0, rows: s.count)
                var mean = [Float](repeating: 0, count: s.count * d)
                for r in 0..<s.count { for j in 0..<k { for x in 0..<d { mean[r * d + x] += all[(r * k + j) * d + x] } } }
                if out == 0 { text += normalizedRows(mean, dim: d) } else { image += normalizedRows(mean, dim: d) }
            }
            shards.append(s)
        }
        guard !items.isEmpty else { throw DataError(file: file, reason: "the manifest lists no clips") }
        let rate = l.sampleRate, samples = l.clipSamples
        var set = EvalSet(kind: "shards", root: file, classNames: l.classNames, items: items, concurrentLoad: false) { i, target in
            let (si, r) = rowOf[i]
            let wave = try shards[si].waveforms(start: r, rows: 1)
            guard wave.count == samples else { throw DataError(file: shards[si].path, dataset: "waveform", index: r, reason: "short read") }
            let x = PCM16.decode(wave)
            if target == rate { return x }
            do { return try Resampler.resample(x, from: rate, to: target) } catch {
                throw DataError(file: shards[si].path, dataset: "waveform", index: r, reason: "\(error)")
            }
        }
        set.text = text
        set.image = image
        return set
    }
}
