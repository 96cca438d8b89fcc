import Foundation
import AVFiles
import AVSafetensors

/// The JSON file that lists a split's shards and their clip counts (see docs/data-format.md).
/// Shard paths are relative to the manifest's folder.
public struct Manifest: Codable, Sendable, Equatable {
    /// One shard file and how many clips it holds.
    public struct Entry: Codable, Sendable, Equatable {
        public var file: String
        public var clips: Int
        public init(file: String, clips: Int) { self.file = file; self.clips = clips }
    }

    public var format = "avtrain-manifest"
    public var version = 1
    public var layout: ShardLayout
    public var shards: [Entry]
    /// Where the manifest was read from (not stored).
    public var path: String = ""

    public init(layout: ShardLayout, shards: [Entry], path: String = "") {
        self.layout = layout; self.shards = shards; self.path = path
    }

    /// Total clips over all shards.
    public var clips: Int { shards.reduce(0) { $0 + $1.clips } }

    /// The folder shard paths are relative to.
    public var directory: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }

    /// Absolute path of shard `i`.
    public func shardPath(_ i: Int) -> String {
        shards[i].file.hasPrefix("/") ? shards[i].file : directory + "/" + shards[i].file
    }

    enum CodingKeys: String, CodingKey { case format, version, layout, shards, clips }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        layout = try c.decode(ShardLayout.self, forKey: .layout)
        shards = try c.decode([Entry].self, forKey: .shards)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(version, forKey: .version)
        try c.encode(clips, forKey: .clips)
        try c.encode(layout, forKey: .layout)
        try c.encode(shards, forKey: .shards)
    }

    /// Reads a manifest. Errors name the file and what is wrong.
    public static func load(_ path: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(file: path, reason: "manifest is missing or unreadable")
        }
        var m: Manifest
        do { m = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw DataError(file: path, reason: "not a valid manifest: \(error)")
        }
        guard m.format == "avtrain-manifest" else { throw DataError(file: path, dataset: "format", reason: "is '\(m.format)', expected 'avtrain-manifest'") }
        guard m.version == 1 else { throw DataError(file: path, dataset: "version", reason: "unsupported version \(m.version)") }
        try m.checkSizes(path)
        m.path = path
        return m
    }

    /// Counts and sizes a manifest may claim (2^40 clips in all; 10 minutes per clip at ≤ 768 kHz;
    /// K, F ≤ 4096; D ≤ 65536; ≤ 100000 classes), checked without overflow before anything uses
    /// them; at least one shard, each listed once.
    func checkSizes(_ path: String) throws {
        func fail(_ key: String, _ reason: String) -> DataError { DataError(file: path, dataset: key, reason: reason) }
        guard !shards.isEmpty else { throw fail("shards", "the manifest lists no shards") }
        var total = 0, seen = Set<String>()
        for (i, e) in shards.enumerated() {
            guard !e.file.isEmpty else { throw fail("shards[\(i)].file", "is empty") }
            guard seen.insert(e.file).inserted else { throw fail("shards[\(i)].file", "'\(e.file)' is listed twice") }
            guard (0...(1 << 40)).contains(e.clips) else { throw fail("shards[\(i)].clips", "\(e.clips) is not a clip count in 0...2^40") }
            let (sum, o) = total.addingReportingOverflow(e.clips)
            guard !o, sum <= 1 << 40 else { throw fail("shards", "more than 2^40 clips in all") }
            total = sum
        }
        let l = layout
        guard (1...768_000).contains(l.sampleRate) else { throw fail("layout.sample_rate", "\(l.sampleRate) Hz is not in 1...768000") }
        guard (1...(600 * l.sampleRate)).contains(l.clipSamples) else {
            throw fail("layout.clip_samples", "\(l.clipSamples) samples is not in 1...\(600 * l.sampleRate) (10 minutes)")
        }
        guard (1...4096).contains(l.captionsPerClip), (1...4096).contains(l.framesPerClip) else {
            throw fail("layout", "captions (K = \(l.captionsPerClip)) and frames (F = \(l.framesPerClip)) per clip must be in 1...4096")
        }
        guard (1...65_536).contains(l.embeddingDim) else { throw fail("layout.embedding_dim", "D = \(l.embeddingDim) is not in 1...65536") }
        guard (1...100_000).contains(l.classNames.count) else { throw fail("layout.class_names", "\(l.classNames.count) classes is not in 1...100000") }
    }

    /// Writes the manifest atomically (pretty, sorted keys: identical input gives identical bytes).
    public func write(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try enc.encode(self)
        data.append(UInt8(ascii: "\n"))
        do { try AtomicFile.write(data, to: path) } catch { throw DataError(file: path, reason: "cannot write manifest: \(error)") }
    }
}
