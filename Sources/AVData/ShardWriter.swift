import Foundation
import AVHDF5

/// Writes one shard: rows are appended one clip at a time (waveform and embeddings go straight to
/// disk, the small per-clip fields are kept until `finish`). The file is written under a temporary
/// name and renamed into place by `finish`, so a shard that exists under its final name is
/// complete (this is what makes `avtool data pack` resumable).
public final class ShardWriter {
    /// Final path and the temporary path written until `finish`.
    public let path: String
    public let temporaryPath: String
    public let layout: ShardLayout
    public let capacity: Int
    public private(set) var count = 0

    private var file: H5File?
    private var streams: (wave: H5Dataset, text: H5Dataset, image: H5Dataset)?
    private var names: [String] = []
    private var labels: [Int32] = []
    private var labelSets: [[Int]] = []
    private var sourceRows: [Int64] = []
    private var nameLength: Int

    /// Opens a new shard for up to `capacity` clips. `nameLength` fixes the width of `audio_name`
    /// (0: the longest name in this shard). `waveformGzip` compresses waveforms (nil: none).
    public init(path: String, layout: ShardLayout, capacity: Int, nameLength: Int = 0, waveformGzip: Int? = nil) throws {
        self.path = path
        self.temporaryPath = path + ".tmp"
        self.layout = layout
        self.capacity = max(1, capacity)
        self.nameLength = nameLength
        try? FileManager.default.removeItem(atPath: temporaryPath)
        do {
            let f = try H5File(createAt: temporaryPath)
            let et: H5Type = layout.embeddingDType == .float16 ? .float16 : .float32
            let n = self.capacity, k = layout.captionsPerClip, fr = layout.framesPerClip, d = layout.embeddingDim
            let wave = try f.createDataset(ShardSchema.waveform, type: .int16, dims: [n, layout.clipSamples],
                                       chunk: [1, layout.clipSamples], gzip: waveformGzip)
            let text = try f.createDataset(ShardSchema.textEmbedding, type: et, dims: [n, k, d], chunk: [1, k, d])
            let image = try f.createDataset(ShardSchema.imageEmbedding, type: et, dims: [n, fr, d], chunk: [1, fr, d])
            streams = (wave, text, image)
            file = f
        } catch let e as H5Error {
            throw DataError(file: path, dataset: e.object, reason: e.reason)
        }
    }

    /// Appends one clip: `waveform` has `clipSamples` values, `labels` lists its classes (the first
    /// is the primary `label`), `text` is K×D and `image` F×D values.
    public func append(name: String, waveform: [Int16], labels clipLabels: [Int], text t: [Float], image im: [Float],
                       sourceRow: Int) throws {
        let l = layout
        func bad(_ ds: String, _ why: String) -> DataError { DataError(file: path, dataset: ds, index: count, reason: why) }
        guard count < capacity else { throw bad(ShardSchema.waveform, "shard is full (\(capacity) clips)") }
        guard waveform.count == l.clipSamples else { throw bad(ShardSchema.waveform, "\(waveform.count) samples, expected \(l.clipSamples)") }
        guard t.count == l.captionsPerClip * l.embeddingDim else { throw bad(ShardSchema.textEmbedding, "\(t.count) values, expected \(l.captionsPerClip)×\(l.embeddingDim)") }
        guard im.count == l.framesPerClip * l.embeddingDim else { throw bad(ShardSchema.imageEmbedding, "\(im.count) values, expected \(l.framesPerClip)×\(l.embeddingDim)") }
        guard let primary = clipLabels.first else { throw bad(ShardSchema.label, "clip '\(name)' has no label") }
        guard clipLabels.allSatisfy({ $0 >= 0 && $0 < l.numClasses }) else { throw bad(ShardSchema.label, "label out of range 0..<\(l.numClasses) in \(clipLabels)") }
        guard let st = streams else { throw bad(ShardSchema.waveform, "shard is finished") }
        do {
            try st.wave.write(waveform, start: count)
            try st.text.write(t, start: count)
            try st.image.write(im, start: count)
        } catch let e as H5Error { throw bad(e.object ?? "?", e.reason) }
        names.append(name)
        labels.append(Int32(primary))
        labelSets.append(clipLabels)
        sourceRows.append(Int64(sourceRow))
        count += 1
    }

    /// Writes the per-clip fields and attributes, trims the datasets to `count` rows, closes the
    /// file and renames it into place. Returns the number of clips.
    @discardableResult
    public func finish() throws -> Int {
        guard let f = file, let st = streams else { return count }
        if count == 0 { abandon(); return 0 }   // no empty shards
        let l = layout
        do {
            for ds in [st.wave, st.text, st.image] { try ds.resize(rows: count) }
            try f.createStringDataset(ShardSchema.audioName, strings: names, length: max(nameLength, names.map { $0.utf8.count }.max() ?? 1))
            try f.createStringDataset(ShardSchema.classNames, strings: l.classNames)
            let rowChunk = max(1, min(count, 4096))
            try f.createDataset(ShardSchema.label, type: .int32, dims: [count], chunk: [rowChunk], gzip: 4).write(labels)
            var hot = [UInt8](repeating: 0, count: count * l.numClasses)
            for (i, s) in labelSets.enumerated() { for c in s { hot[i * l.numClasses + c] = 1 } }
            try f.createDataset(ShardSchema.target, type: .bool, dims: [count, l.numClasses], chunk: [rowChunk, l.numClasses], gzip: 4).write(hot)
            let src = try f.createDataset(ShardSchema.sourceRow, type: .int64, dims: [count], chunk: [rowChunk], gzip: 4)
            try src.write(sourceRows)
            typealias A = ShardSchema.Attr
            try f.setAttribute(A.format, .string(ShardSchema.formatName))
            try f.setAttribute(A.formatVersion, .int(Int64(ShardSchema.version)))
            try f.setAttribute(A.dataset, .string(l.dataset))
            try f.setAttribute(A.split, .string(l.split))
            try f.setAttribute(A.sampleRate, .int(Int64(l.sampleRate)))
            try f.setAttribute(A.clipSamples, .int(Int64(l.clipSamples)))
            try f.setAttribute(A.numClasses, .int(Int64(l.numClasses)))
            try f.setAttribute(A.captionsPerClip, .int(Int64(l.captionsPerClip)))
            try f.setAttribute(A.framesPerClip, .int(Int64(l.framesPerClip)))
            try f.setAttribute(A.embeddingDim, .int(Int64(l.embeddingDim)))
            try f.setAttribute(A.embeddingModel, .string(l.embeddingModel))
            f.flush()
        } catch let e as H5Error {
            throw DataError(file: path, dataset: e.object, reason: e.reason)
        }
        // Release every handle so that HDF5 really closes the file, then move it into place.
        streams = nil
        file = nil
        guard rename(temporaryPath, path) == 0 else {
            throw DataError(file: path, reason: "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
        }
        return count
    }

    /// Closes and deletes an unfinished shard.
    public func abandon() {
        streams = nil
        file = nil
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }
}
