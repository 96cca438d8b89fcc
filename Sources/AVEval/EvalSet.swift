import Foundation
import AVAudio

/// One clip of an evaluation set: a name (file path or shard clip name), its fold and class.
public struct EvalItem: Sendable, Equatable {
    public var name: String
    public var fold: Int
    public var label: Int
    public init(name: String, fold: Int, label: Int) { self.name = name; self.fold = fold; self.label = label }
}

/// A labelled evaluation set with folds: the official ESC-50 and UrbanSound8K layouts
/// (`OfficialLayouts`) or eval shards (built in AVData). Audio is read on demand by `load`.
public struct EvalSet {
    /// "esc50", "us8k" or "shards".
    public var kind: String
    /// The folder (or manifest) it was read from.
    public var root: String
    /// Class names in label order.
    public var classNames: [String]
    public var items: [EvalItem]
    /// `load(i, rate)`: clip i as a mono waveform at `rate` Hz.
    public var load: (Int, Int) throws -> [Float]
    /// Whether `load` may run on several threads at once (files: yes; HDF5: no).
    public var concurrentLoad: Bool
    /// Paired CLIP embeddings per clip for retrieval (shards): N × D unit rows, the mean of
    /// the K captions and of the F frames.
    public var text: [Float]? = nil, image: [Float]? = nil

    public init(kind: String, root: String, classNames: [String], items: [EvalItem], concurrentLoad: Bool,
                load: @escaping (Int, Int) throws -> [Float]) {
        self.kind = kind; self.root = root; self.classNames = classNames; self.items = items
        self.concurrentLoad = concurrentLoad; self.load = load
    }

    /// The folds present, ascending.
    public var folds: [Int] { Array(Set(items.map(\.fold))).sorted() }
}

/// Readers for the datasets exactly as their authors distribute them.
public enum OfficialLayouts {
    /// ESC-50 (`meta/esc50.csv`, `audio/*.wav`, folds 1–5, classes 0–49 by `target`).
    public static let esc50Header = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    /// UrbanSound8K (`metadata/UrbanSound8K.csv`, `audio/fold1…fold10`, classes 0–9 by `classID`).
    public static let us8kHeader = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"]

    /// ESC-50 under `root` (the `ESC-50-master` folder).
    public static func esc50(root: String) throws -> EvalSet {
        try read(kind: "esc50", root: root, csv: "meta/esc50.csv", header: esc50Header, file: 0, fold: 1, label: 2, name: 3,
                 folds: 1...5) { row in "audio/" + row[0] }
    }

    /// UrbanSound8K under `root` (the `UrbanSound8K` folder).
    public static func us8k(root: String) throws -> EvalSet {
        try read(kind: "us8k", root: root, csv: "metadata/UrbanSound8K.csv", header: us8kHeader, file: 0, fold: 5, label: 6,
                 name: 7, folds: 1...10) { row in "audio/fold\(row[5])/" + row[0] }
    }

    static func read(kind: String, root: String, csv: String, header: [String], file: Int, fold: Int, label: Int, name: Int,
                     folds: ClosedRange<Int>, audioPath: ([String]) -> String) throws -> EvalSet {
        let csvPath = URL(fileURLWithPath: root).appendingPathComponent(csv).path
        let rows = try CSVRows.read(csvPath, header: header)
        var names: [Int: String] = [:]
        var items: [EvalItem] = []
        for (r, row) in rows.enumerated() {
            let line = r + 2
            guard let f = Int(row[fold]), folds.contains(f) else {
                throw EvalError("\(csvPath):\(line): \(header[fold]) '\(row[fold])' is not a fold in \(folds)")
            }
            guard let l = Int(row[label]), (0..<10_000).contains(l) else {
                throw EvalError("\(csvPath):\(line): \(header[label]) '\(row[label])' is not a class number")
            }
            let cls = row[name]
            guard !cls.isEmpty else { throw EvalError("\(csvPath):\(line): \(header[name]) is empty") }
            if let known = names[l], known != cls {
                throw EvalError("\(csvPath):\(line): \(header[label]) \(l) is '\(cls)' here but '\(known)' earlier")
            }
            names[l] = cls
            guard !row[file].isEmpty, !row[file].contains("/") else {
                throw EvalError("\(csvPath):\(line): \(header[file]) '\(row[file])' is not a file name")
            }
            items.append(EvalItem(name: URL(fileURLWithPath: root).appendingPathComponent(audioPath(row)).path, fold: f, label: l))
        }
        guard !items.isEmpty else { throw EvalError("\(csvPath): no clips listed") }
        let count = (names.keys.max() ?? -1) + 1
        if let gap = (0..<count).first(where: { names[$0] == nil }) {
            throw EvalError("\(csvPath): no clip of class \(gap) (classes must be numbered 0…\(count - 1) without gaps)")
        }
        let classNames = (0..<count).compactMap { names[$0] }        // complete: gaps were refused above
        if let dup = Dictionary(grouping: classNames, by: ClassEmbeddings.key).first(where: { $0.value.count > 1 }) {
            throw EvalError("\(csvPath): class names \(dup.value) are the same name")
        }
        let paths = items.map(\.name)
        return EvalSet(kind: kind, root: root, classNames: classNames, items: items, concurrentLoad: true) { i, rate in
            try AudioDecoder.load(paths[i], sampleRate: rate)
        }
    }
}
