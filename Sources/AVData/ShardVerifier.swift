import Foundation
import AVHDF5

/// `avtool data verify`: reads every clip of every shard and reports problems by file, dataset and
/// index. Errors: missing/unreadable/truncated shards or chunks, missing datasets, lengths that
/// disagree, shards that do not match the manifest, NaN/inf or zero-norm embeddings, labels out of
/// range or missing from `target`. Warnings (errors with `strict`): silent or clipped audio.
public struct ShardVerifier {
    public struct Report: Sendable {
        public var shards = 0
        public var clips = 0
        public var errors: [DataError] = []
        public var warnings: [DataError] = []
        public var ok: Bool { errors.isEmpty }
        public init() {}

        /// Errors and warnings counted by kind (the reason with its numbers replaced by N).
        public var kinds: [(kind: String, errors: Int, warnings: Int)] {
            func kind(_ e: DataError) -> String {
                (e.dataset.map { $0 + ": " } ?? "") + e.reason.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression)
            }
            var c: [String: (Int, Int)] = [:]
            for e in errors { c[kind(e), default: (0, 0)].0 += 1 }
            for w in warnings { c[kind(w), default: (0, 0)].1 += 1 }
            return c.map { ($0.key, $0.value.0, $0.value.1) }.sorted { ($0.errors + $0.warnings, $1.kind) > ($1.errors + $1.warnings, $0.kind) }
        }
    }

    /// Read every row (decode, checksums, embeddings, labels); false: the structural checks only
    /// (open, shapes, types, attributes, manifest agreement, checksum presence).
    public var deep = true

    /// Peak |sample| at or below which a clip counts as silent, and the fraction of full-scale
    /// samples above which it counts as clipped.
    public var silencePeak: Int16 = 1
    public var clippedFraction = 0.001
    /// Rows read per HDF5 call.
    public var block = 64

    public init() {}

    /// Verifies every shard listed in the manifest at `manifestPath`.
    public func verify(manifestPath: String, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let m = try Manifest.load(manifestPath)
        var report = Report()
        let total = m.clips
        var done = 0
        for i in 0..<m.shards.count {
            verifyShard(m.shardPath(i), expected: m.layout, expectedClips: m.shards[i].clips, into: &report) { n in
                done += n; progress?(done, total)
            }
        }
        return report
    }

    /// Verifies one shard file (against `expected` when given), appending to `report`.
    public func verifyShard(_ path: String, expected: ShardLayout? = nil, expectedClips: Int? = nil, into report: inout Report,
                            progress: ((Int) -> Void)? = nil) {
        report.shards += 1
        let shard: Shard
        do {
            shard = try Shard(path: path)
            if let expected { try shard.check(against: expected) }
            if let expectedClips, expectedClips != shard.count {
                throw DataError(file: path, reason: "holds \(shard.count) clips but the manifest says \(expectedClips)")
            }
        } catch let e as DataError { report.errors.append(e); return } catch {
            report.errors.append(DataError(file: path, reason: "\(error)")); return
        }
        if !shard.hasChecksums {
            report.warnings.append(DataError(file: path, dataset: ShardSchema.waveform,
                                             reason: "chunks carry no Fletcher-32 checksums (an older or foreign writer): flipped bytes would go unnoticed; repack to add them"))
        }
        guard deep else { report.clips += shard.count; return }
        let l = shard.layout, nc = l.numClasses, s = l.clipSamples
        var labels: [Int32] = []
        do {
            labels = try shard.labels()
            _ = try shard.names()
        } catch let e as DataError { report.errors.append(e) } catch {}
        for start in stride(from: 0, to: shard.count, by: block) {
            let rows = min(block, shard.count - start)
            // Waveforms: silent or clipped.
            if let w = readRows(rows, start, path, ShardSchema.waveform, into: &report, { try shard.waveforms(start: $0, rows: $1) }) {
                for r in 0..<rows {
                    var peak: Int32 = 0, full = 0
                    for v in w[(r * s)..<((r + 1) * s)] {
                        let a = abs(Int32(v))
                        peak = max(peak, a)
                        if a >= 32767 { full += 1 }
                    }
                    if peak <= Int32(silencePeak) {
                        report.warnings.append(DataError(file: path, dataset: ShardSchema.waveform, index: start + r, reason: "silent audio (peak \(peak))"))
                    } else if Double(full) > clippedFraction * Double(s) {
                        report.warnings.append(DataError(file: path, dataset: ShardSchema.waveform, index: start + r,
                                                         reason: "clipped audio (\(full) full-scale samples)"))
                    }
                }
            }
            // Embeddings: non-finite or zero-norm rows.
            for (ds, per) in [(ShardSchema.textEmbedding, l.captionsPerClip), (ShardSchema.imageEmbedding, l.framesPerClip)] {
                guard let e = readRows(rows, start, path, ds, into: &report, { try shard.embeddings(ds, start: $0, rows: $1) }) else { continue }
                let d = l.embeddingDim
                for r in 0..<rows {
                    if let bad = EmbeddingRows.firstBad(e[(r * per * d)..<((r + 1) * per * d)], dim: d) {
                        report.errors.append(DataError(file: path, dataset: ds, index: start + r, reason: bad.reason))
                    }
                }
            }
            // Labels against targets.
            if let t = readRows(rows, start, path, ShardSchema.target, into: &report, { try shard.targets(start: $0, rows: $1) }), labels.count == shard.count {
                for r in 0..<rows {
                    let p = Int(labels[start + r])
                    if p < 0 || p >= nc {
                        report.errors.append(DataError(file: path, dataset: ShardSchema.label, index: start + r, reason: "label \(p) outside 0..<\(nc)"))
                    } else if t[r * nc + p] == 0 {
                        report.errors.append(DataError(file: path, dataset: ShardSchema.target, index: start + r, reason: "primary label \(p) is not set in target"))
                    }
                }
            }
            report.clips += rows
            progress?(rows)
        }
    }

    /// Reads a block; on failure, retries row by row to name each unreadable row.
    private func readRows<T>(_ rows: Int, _ start: Int, _ path: String, _ ds: String, into report: inout Report,
                             _ read: (Int, Int) throws -> [T]) -> [T]? {
        if let v = try? read(start, rows) { return v }
        for r in start..<(start + rows) {
            do { _ = try read(r, 1) } catch {
                report.errors.append(DataError(file: path, dataset: ds, index: r, reason: "unreadable (corrupt or truncated chunk, or a failed checksum)"))
            }
        }
        return nil
    }
}
