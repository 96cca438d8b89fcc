import Foundation
import AVHDF5

/// `avtool data inspect`: a readable summary of a manifest or a shard file.
public enum ShardInspector {
    /// Describes the manifest (clips, shards, classes, layout, per-class counts) or, for an `.h5`
    /// path, that shard (datasets with shape, dtype, chunking, filters; attributes).
    public static func describe(_ path: String) throws -> String {
        if path.hasSuffix(".json") {
            let m = try Manifest.load(path)
            let l = m.layout
            var s = "manifest \(path)\n"
            s += "  dataset \(l.dataset), split \(l.split): \(m.clips) clips in \(m.shards.count) shards\n"
            s += "  audio: \(l.sampleRate) Hz, \(l.clipSamples) samples (\(String(format: "%.2f", Double(l.clipSamples) / Double(l.sampleRate))) s) per clip\n"
            s += "  embeddings: \(l.embeddingModel), D=\(l.embeddingDim), K=\(l.captionsPerClip) captions, F=\(l.framesPerClip) frames, \(l.embeddingDType.rawValue)\n"
            var counts = [Int](repeating: 0, count: l.numClasses)
            var multi = 0
            for i in 0..<m.shards.count {
                let sh = try Shard(path: m.shardPath(i))
                try sh.check(against: l)                  // the class count indexes below
                for p in try sh.labels() where p >= 0 && Int(p) < counts.count { counts[Int(p)] += 1 }
                let t = try sh.targets(start: 0, rows: sh.count)
                for r in 0..<sh.count where t[(r * l.numClasses)..<((r + 1) * l.numClasses)].reduce(0, { $0 + Int($1) }) > 1 { multi += 1 }
            }
            s += "  classes: \(l.numClasses)\(multi > 0 ? ", \(multi) multi-label clips" : "")\n"
            for (c, name) in l.classNames.enumerated().prefix(40) { s += String(format: "    %4d  %-32@ %d clips\n", c, name, counts[c]) }
            if l.numClasses > 40 { s += "    … \(l.numClasses - 40) more\n" }
            if !m.shards.isEmpty { s += "first shard:\n" + (try describeShard(m.shardPath(0))) }
            return s
        }
        return try describeShard(path)
    }

    static func describeShard(_ path: String) throws -> String {
        let f: H5File
        do { f = try H5File(openAt: path) } catch let e as H5Error { throw DataError(file: path, reason: e.reason) }
        var s = "shard \(path)\n  datasets:\n"
        for name in f.names {
            guard let d = try? f.dataset(name) else { s += "    \(name): (not a dataset)\n"; continue }
            let chunk = d.chunk.map { "chunks \($0)" } ?? "contiguous"
            let filt = d.filters.isEmpty ? "" : " " + d.filters.joined(separator: "+")
            s += "    " + name.padding(toLength: 16, withPad: " ", startingAt: 0) + " \(d.typeDescription) \(d.dims), \(chunk)\(filt)\n"
        }
        s += "  attributes:\n"
        for a in f.attributeNames { s += "    \(a) = \((try? f.attribute(a))??.description ?? "?")\n" }
        return s
    }
}
