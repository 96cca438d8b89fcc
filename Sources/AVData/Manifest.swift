import Foundation
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
        m.path = path
        return m
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
