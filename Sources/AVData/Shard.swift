import AVHDF5

/// One shard opened for reading, validated on open: every required dataset is present, all have the
/// same number of rows, and the shapes agree with each other and the attributes. Not thread-safe
/// (HDF5 is serial): use one shard from one thread at a time (the loader's reader thread).
public final class Shard {
    public let path: String
    public let file: H5File
    /// Clips in the shard.
    public let count: Int
    /// The layout read from attributes and shapes (`dataset`/`split` empty when not recorded).
    public let layout: ShardLayout
    let waveform, text, image, target, label: H5Dataset

    /// Opens and validates the shard at `path`.
    public init(path: String) throws {
        self.path = path
        func fail(_ ds: String?, _ why: String) -> DataError { DataError(file: path, dataset: ds, reason: why) }
        do {
            file = try H5File(openAt: path)
        } catch let e as H5Error { throw fail(nil, e.reason) }
        for name in ShardSchema.required where !file.exists(name) { throw fail(name, "dataset is missing") }
        do {
            waveform = try file.dataset(ShardSchema.waveform)
            text = try file.dataset(ShardSchema.textEmbedding)
            image = try file.dataset(ShardSchema.imageEmbedding)
            target = try file.dataset(ShardSchema.target)
            label = try file.dataset(ShardSchema.label)
        } catch let e as H5Error { throw fail(e.object, e.reason) }
        let wd = waveform.dims, td = text.dims, idm = image.dims, tg = target.dims
        guard wd.count == 2 else { throw fail(ShardSchema.waveform, "expected [N, samples], found \(wd)") }
        guard td.count == 3 else { throw fail(ShardSchema.textEmbedding, "expected [N, K, D], found \(td)") }
        guard idm.count == 3 else { throw fail(ShardSchema.imageEmbedding, "expected [N, F, D], found \(idm)") }
        guard tg.count == 2 else { throw fail(ShardSchema.target, "expected [N, classes], found \(tg)") }
        let n = wd[0]
        // Sizes from the file are checked before anything is allocated from them.
        for (ds, dims, d, limit) in [(ShardSchema.waveform, wd, wd[1], 600 * 768_000), (ShardSchema.textEmbedding, td, td[1], 4096),
                                     (ShardSchema.imageEmbedding, idm, idm[1], 4096), (ShardSchema.textEmbedding, td, td[2], 65_536),
                                     (ShardSchema.target, tg, tg[1], 100_000)] where d < 1 || d > limit {
            throw fail(ds, "dimensions \(dims) are outside the limits (1...\(limit))")
        }
        guard (0...(1 << 40)).contains(n) else { throw fail(ShardSchema.waveform, "\(n) rows is not a clip count in 0...2^40") }
        let names = (try? file.dataset(ShardSchema.audioName).dims) ?? []
        let labelDims = label.dims
        for (ds, d) in [(ShardSchema.audioName, names), (ShardSchema.label, labelDims), (ShardSchema.target, tg),
                        (ShardSchema.textEmbedding, td), (ShardSchema.imageEmbedding, idm)] where d.first != n {
            throw fail(ds, "has \(d.first ?? 0) rows but '\(ShardSchema.waveform)' has \(n) (lengths disagree)")
        }
        guard labelDims.count == 1 else { throw fail(ShardSchema.label, "expected [N], found \(labelDims)") }
        guard names.count <= 1 else { throw fail(ShardSchema.audioName, "expected [N] names, found \(names)") }
        guard td[2] == idm[2] else { throw fail(ShardSchema.imageEmbedding, "embedding width \(idm[2]) differs from text's \(td[2])") }
        let classNames: [String]
        do { classNames = try file.dataset(ShardSchema.classNames).readStrings() } catch let e as H5Error { throw fail(e.object, e.reason) }
        guard classNames.count == tg[1] else { throw fail(ShardSchema.classNames, "\(classNames.count) names but '\(ShardSchema.target)' has \(tg[1]) classes") }
        let et = text.isFloat(bytes: 2) ? EmbeddingDType.float16 : .float32
        for ds in [text, image] where !(ds.isFloat(bytes: 2) || ds.isFloat(bytes: 4)) {
            throw fail(ds.name, "expected float16 or float32, found \(ds.typeDescription)")
        }
        guard waveform.typeDescription == "int16" else { throw fail(ShardSchema.waveform, "expected int16, found \(waveform.typeDescription)") }
        // HDF5 would convert a float label (7.7 → 7) or a wide target silently: refuse the types.
        guard label.typeDescription.hasPrefix("int") || label.typeDescription.hasPrefix("uint") else {
            throw fail(ShardSchema.label, "expected an integer class number, found \(label.typeDescription)")
        }
        guard ["bool", "uint8", "int8"].contains(target.typeDescription) else {
            throw fail(ShardSchema.target, "expected bool (multi-hot), found \(target.typeDescription)")
        }
        typealias A = ShardSchema.Attr
        let rate: Int
        do {
            guard let r = try file.attribute(A.sampleRate)?.intValue, r > 0 else { throw fail("@" + A.sampleRate, "attribute is missing or not a positive integer") }
            rate = r
            if let cs = try file.attribute(A.clipSamples)?.intValue, cs != wd[1] {
                throw fail("@" + A.clipSamples, "attribute says \(cs) but '\(ShardSchema.waveform)' rows have \(wd[1]) samples")
            }
            layout = ShardLayout(dataset: try file.attribute(A.dataset)?.stringValue ?? "",
                                 split: try file.attribute(A.split)?.stringValue ?? "",
                                 sampleRate: rate, clipSamples: wd[1], classNames: classNames,
                                 captionsPerClip: td[1], framesPerClip: idm[1], embeddingDim: td[2],
                                 embeddingModel: try file.attribute(A.embeddingModel)?.stringValue ?? "",
                                 embeddingDType: et)
        } catch let e as H5Error { throw fail(e.object, e.reason) }
        count = n
    }

    /// Checks that this shard can be mixed with others of `expected` (rates, lengths, classes, K, F, D).
    public func check(against expected: ShardLayout) throws {
        let l = layout
        func fail(_ what: String, _ a: Any, _ b: Any) -> DataError {
            DataError(file: path, reason: "\(what) is \(a) but the manifest says \(b)")
        }
        if l.sampleRate != expected.sampleRate { throw fail("sample_rate", l.sampleRate, expected.sampleRate) }
        if l.clipSamples != expected.clipSamples { throw fail("clip_samples", l.clipSamples, expected.clipSamples) }
        if l.classNames != expected.classNames {
            let differ = zip(l.classNames, expected.classNames).enumerated().first { $0.element.0 != $0.element.1 }
            let detail = l.classNames.count != expected.classNames.count
                ? "\(l.classNames.count) names but the manifest has \(expected.classNames.count)"
                : "name \(differ?.offset ?? 0) is '\(differ?.element.0 ?? "")' but the manifest says '\(differ?.element.1 ?? "")'"
            throw DataError(file: path, dataset: ShardSchema.classNames, reason: detail)
        }
        if l.captionsPerClip != expected.captionsPerClip { throw fail("captions per clip (K)", l.captionsPerClip, expected.captionsPerClip) }
        if l.framesPerClip != expected.framesPerClip { throw fail("frames per clip (F)", l.framesPerClip, expected.framesPerClip) }
        if l.embeddingDim != expected.embeddingDim { throw fail("embedding_dim", l.embeddingDim, expected.embeddingDim) }
    }

    func wrap<T>(_ ds: String, _ row: Int?, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as H5Error {
            throw DataError(file: path, dataset: e.object ?? ds, index: row, reason: e.reason)
        }
    }

    /// Whether the waveform chunks carry Fletcher-32 checksums (shards written since they were added).
    public var hasChecksums: Bool { waveform.filters.contains("fletcher32") }

    /// Primary labels (int32 [N]).
    public func labels() throws -> [Int32] { try wrap(ShardSchema.label, nil) { try label.read(as: Int32.self) } }

    /// Multi-hot targets of rows `start..<start+rows` as bytes (rows × classes).
    public func targets(start: Int, rows: Int) throws -> [UInt8] {
        try wrap(ShardSchema.target, nil) { try target.readBytes(start: start, rows: rows) }
    }

    /// Clip names (`audio_name`).
    public func names() throws -> [String] {
        try wrap(ShardSchema.audioName, nil) { try file.dataset(ShardSchema.audioName).readStrings() }
    }

    /// Reads clip `row`'s waveform (`clipSamples` int16 values) into `out`.
    public func readWaveform(_ row: Int, into out: UnsafeMutablePointer<Int16>) throws {
        try wrap(ShardSchema.waveform, row) { try waveform.read(into: out, start: row, rows: 1) }
    }

    /// Reads clip `row`'s K×D text embeddings into `out`.
    public func readText(_ row: Int, into out: UnsafeMutablePointer<Float>) throws {
        try wrap(ShardSchema.textEmbedding, row) { try text.read(into: out, start: row, rows: 1) }
    }

    /// Reads clip `row`'s F×D image embeddings into `out`.
    public func readImage(_ row: Int, into out: UnsafeMutablePointer<Float>) throws {
        try wrap(ShardSchema.imageEmbedding, row) { try image.read(into: out, start: row, rows: 1) }
    }

    /// Reads rows `start..<start+rows` of waveforms (int16) — for verification and tools.
    public func waveforms(start: Int, rows: Int) throws -> [Int16] {
        try wrap(ShardSchema.waveform, start) { try waveform.read(as: Int16.self, start: start, rows: rows) }
    }

    /// Reads rows `start..<start+rows` of text or image embeddings as Float.
    public func embeddings(_ name: String, start: Int, rows: Int) throws -> [Float] {
        try wrap(name, start) { try (name == ShardSchema.textEmbedding ? text : image).read(as: Float.self, start: start, rows: rows) }
    }
}
