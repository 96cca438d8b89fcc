import Foundation
import AVFiles
import AVSafetensors
#if canImport(Glibc)
import Glibc
#endif

/// `out_dir/metrics.jsonl`: one JSON object per line, each appended whole or not at all (a failed
/// write — a full disk — is cut back to the previous end and reported naming the file), and cut
/// back to a step on resume so that no step appears twice.
public struct MetricsLog: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    /// Appends `record` as one line.
    public func append(_ record: [String: Any]) throws {
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else {
            throw TrainError("\(path): a metrics record is not JSON-serialisable: \(record)")
        }
        let line = data + Data("\n".utf8)
        var fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {                          // the run folder not made yet (library use)
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw TrainError("\(path): cannot open the metrics file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == line.count else {
            let reason = n < 0 ? String(cString: strerror(errno)) : "wrote \(n) of \(line.count) bytes"
            if end >= 0 { _ = ftruncate(fd, end) }           // never leave half a line
            throw TrainError("\(path): cannot append metrics: \(reason)")
        }
    }

    /// Drops the rows of steps after `step` (rows without a step are kept); returns how many.
    @discardableResult
    public func truncate(after step: Int) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var kept: [Substring] = [], dropped = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if let s = row?["step"] as? Int, s > step { dropped += 1 } else if row != nil { kept.append(line) } else { dropped += 1 }
        }
        if dropped > 0 {
            do { try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: path) } catch {
                throw TrainError("\(path): cannot rewrite the metrics file: \(error)")
            }
        }
        return dropped
    }
}
