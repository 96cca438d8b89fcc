import Foundation
import AVAudio

/// Decodes an audio file to mono float samples at the requested rate.
public typealias AudioLoader = @Sendable (_ path: String, _ sampleRate: Int) throws -> [Float]

/// Settings of `avtool data pack`.
public struct PackConfig: Sendable {
    /// CSV with a header: an audio column (`audio`, `path`, `filename` or `file`; relative paths are
    /// resolved against `audioRoot`, default the CSV's folder) and a labels column (`labels`,
    /// `label`, `class` or `category`; several labels separated by `;`, the first is primary).
    /// Other columns (captions) are ignored here; `Datasets/clip_embeddings.py` reads them.
    public var csv: String
    /// `.npy` arrays with one row per CSV row: text [N, K, D] and image [N, F, D] (float16/float32).
    public var textEmbeddings: String
    public var imageEmbeddings: String
    public var output: String
    public var dataset = "dataset"
    public var split = "train"
    public var shardSize = 2000
    public var sampleRate = 32000
    public var clipSamples = 320_000
    /// Class names, one per line (default: the sorted distinct labels of the CSV).
    public var classesFile: String?
    public var audioRoot: String?
    public var embeddingModel = "ViT-B-32/openai"
    /// Stored embedding type (default: that of the `.npy` files).
    public var dtype: EmbeddingDType?
    public var onBadClip: BadClipPolicy = .skip
    public var waveformGzip: Int?

    public init(csv: String, textEmbeddings: String, imageEmbeddings: String, output: String) {
        self.csv = csv; self.textEmbeddings = textEmbeddings; self.imageEmbeddings = imageEmbeddings; self.output = output
    }
}

/// What a pack run did.
public struct PackSummary: Sendable {
    public var clips = 0
    public var shardsWritten = 0
    public var shardsSkipped = 0
    public var badClips: [DataError] = []
    public var seconds = 0.0
    public var manifestPath = ""
}

/// Builds shards from a CSV and CLIP embedding arrays: shard s holds CSV rows
/// [s·shardSize, (s+1)·shardSize) (minus bad clips with `.skip`). Each shard is written under a
/// temporary name and renamed when complete; a re-run keeps shards that already exist under their
/// final name and match the layout, so an interrupted run resumes. The manifest is written last.
public enum Packer {
    /// AVAudio's decoder: libsndfile decode, mono mix, band-limited resampling to `sampleRate`,
    /// of the first `seconds` of the file only (the clip is the file's start; a longer file is
    /// never decoded whole).
    public static func standardLoader(seconds: Double) -> AudioLoader {
        { path, rate in try AudioDecoder.load(path, sampleRate: rate, maxSeconds: seconds) }
    }

    /// Packs `c`; `loader` (default `standardLoader` for the clip length) decodes one file.
    public static func run(_ c: PackConfig, loader given: AudioLoader? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> PackSummary {
        let loader = given ?? standardLoader(seconds: Double(c.clipSamples) / Double(max(1, c.sampleRate)))
        let started = Date()
        let table = try CSVTable(path: c.csv)
        guard let audioCol = table.column(["audio", "path", "filename", "file"]) else {
            throw DataError(file: c.csv, dataset: "header", reason: "no audio column (audio, path, filename or file) in \(table.header)")
        }
        guard let labelCol = table.column(["labels", "label", "class", "category"]) else {
            throw DataError(file: c.csv, dataset: "header", reason: "no labels column (labels, label, class or category) in \(table.header)")
        }
        let n = table.rows.count
        guard n > 0 else { throw DataError(file: c.csv, reason: "no rows") }
        let text = try NpyArray(path: c.textEmbeddings), image = try NpyArray(path: c.imageEmbeddings)
        for (a, what) in [(text, "K captions"), (image, "F frames")] {
            guard a.shape.count == 3, a.shape[1] > 0, a.shape[2] > 0 else {
                throw DataError(file: a.path, reason: "shape \(a.shape), expected [N, \(what), D] with \(what) ≥ 1 and D ≥ 1")
            }
            guard a.rows == n else { throw DataError(file: a.path, reason: "\(a.rows) rows but the CSV has \(n)") }
        }
        guard text.shape[2] == image.shape[2] else {
            throw DataError(file: image.path, reason: "embedding width \(image.shape[2]) differs from the text's \(text.shape[2])")
        }
        let rowLabels = table.rows.map { $0[labelCol].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        var classNames: [String]
        if let cf = c.classesFile {
            guard let s = try? String(contentsOfFile: cf, encoding: .utf8) else { throw DataError(file: cf, reason: "cannot read class list") }
            classNames = s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } else {
            classNames = Array(Set(rowLabels.joined())).sorted()
        }
        let classIndex = Dictionary(classNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let layout = ShardLayout(dataset: c.dataset, split: c.split, sampleRate: c.sampleRate, clipSamples: c.clipSamples,
                                 classNames: classNames, captionsPerClip: text.shape[1], framesPerClip: image.shape[1],
                                 embeddingDim: text.shape[2], embeddingModel: c.embeddingModel,
                                 embeddingDType: c.dtype ?? (text.element == .float16 ? .float16 : .float32))
        try FileManager.default.createDirectory(atPath: c.output, withIntermediateDirectories: true)
        let root = c.audioRoot ?? URL(fileURLWithPath: c.csv).deletingLastPathComponent().path
        let names = table.rows.map { URL(fileURLWithPath: $0[audioCol]).lastPathComponent }
        let nameLength = names.map { $0.utf8.count }.max() ?? 1
        var summary = PackSummary()
        var entries: [Manifest.Entry] = []
        let shards = (n + c.shardSize - 1) / c.shardSize
        var done = 0
        for s in 0..<shards {
            let file = String(format: "\(c.split)-%05d.h5", s)
            let path = c.output + "/" + file
            let lo = s * c.shardSize, hi = min(n, lo + c.shardSize)
            if let kept = finishedShard(path, layout: layout, rows: lo..<hi) {
                entries.append(.init(file: file, clips: kept))
                summary.shardsSkipped += 1; summary.clips += kept
                done += hi - lo; progress?(done, n)
                continue
            }
            let w = try ShardWriter(path: path, layout: layout, capacity: hi - lo, nameLength: nameLength, waveformGzip: c.waveformGzip)
            do {
                // Decode a block of clips in parallel, then write them in order.
                let block = 16
                for b0 in stride(from: lo, to: hi, by: block) {
                    let b1 = min(hi, b0 + block)
                    let decoded = UnsafeMutableBufferPointer<Result<[Int16], Error>>.allocate(capacity: b1 - b0)
                    defer { decoded.deallocate() }
                    let box = UncheckedSendable(decoded)
                    DispatchQueue.concurrentPerform(iterations: b1 - b0) { j in
                        let r = b0 + j
                        let rel = table.rows[r][audioCol]
                        let p = rel.hasPrefix("/") ? rel : root + "/" + rel
                        (box.value.baseAddress! + j).initialize(to: Result { try fitted(loader(p, c.sampleRate), c.clipSamples, file: p) })
                    }
                    for r in b0..<b1 {
                        let rowName = "\(c.csv) line \(table.lines[r])"
                        do {
                            let wave = try decoded[r - b0].get()
                            let labels = try rowLabels[r].map { l -> Int in
                                guard let i = classIndex[l] else { throw DataError(file: c.csv, dataset: "labels", index: r, reason: "class '\(l)' is not in the class list") }
                                return i
                            }
                            guard !labels.isEmpty else { throw DataError(file: c.csv, dataset: "labels", index: r, reason: "no label") }
                            let t = try text.row(r), im = try image.row(r)
                            let d = text.shape[2]
                            if let bad = EmbeddingRows.firstBad(t, dim: d) { throw DataError(file: text.path, index: r, reason: bad.reason) }
                            if let bad = EmbeddingRows.firstBad(im, dim: d) { throw DataError(file: image.path, index: r, reason: bad.reason) }
                            try w.append(name: names[r], waveform: wave, labels: labels, text: t, image: im, sourceRow: r)
                        } catch let e as DataError {
                            if c.onBadClip == .stop { throw e }
                            summary.badClips.append(e)
                        } catch {
                            let e = DataError(file: rowName, reason: "\(error)")
                            if c.onBadClip == .stop { throw e }
                            summary.badClips.append(e)
                        }
                        done += 1; progress?(done, n)
                    }
                }
                let kept = try w.finish()
                if kept > 0 { entries.append(.init(file: file, clips: kept)); summary.shardsWritten += 1; summary.clips += kept }
            } catch {
                w.abandon()
                throw error
            }
        }
        let manifest = Manifest(layout: layout, shards: entries, path: c.output + "/manifest.json")
        try manifest.write(to: manifest.path)
        summary.manifestPath = manifest.path
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Crops or zero-pads to `samples` and converts to int16 (`PCM16`).
    static func fitted(_ x: [Float], _ samples: Int, file: String) throws -> [Int16] {
        guard !x.isEmpty else { throw DataError(file: file, reason: "no audio samples") }
        return PCM16.encode(x, count: samples)
    }

    /// The clip count of a complete shard at `path` matching `layout` and covering `rows`, else nil.
    static func finishedShard(_ path: String, layout: ShardLayout, rows: Range<Int>) -> Int? {
        guard FileManager.default.fileExists(atPath: path), let s = try? Shard(path: path), (try? s.check(against: layout)) != nil,
              let src = try? s.file.dataset(ShardSchema.sourceRow).read(as: Int64.self),
              src.allSatisfy({ rows.contains(Int($0)) }) else { return nil }
        return s.count
    }
}

/// Wraps a value for a @Sendable closure whose accesses are disjoint by construction.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
