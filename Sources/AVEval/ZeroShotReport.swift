import Foundation
import AVFiles
import AVSafetensors

/// The files `avtool eval zeroshot --out DIR` writes.
extension ZeroShotResult {
    /// JSON summary: data set, classes, clips, skipped, top-1/top-5 overall and per fold, chance.
    public func summaryJSON(encoder: EncoderSpec?) throws -> Data {
        var s: [String: Any] = [
            "dataset": set.kind, "root": set.root, "classes": set.classNames.count, "chance_top1": chance,
            "clips": overall.clips, "skipped": skipped.count, "unused_class_embeddings": unusedClasses,
            "top1": overall.top1, "top5": overall.top5,
            "per_fold": Dictionary(uniqueKeysWithValues: perFold.map { ("\($0.key)", ["clips": $0.value.clips, "top1": $0.value.top1, "top5": $0.value.top5]) }),
            "skipped_clips": skipped.prefix(1000).map { ["clip": $0.name, "reason": $0.reason] },
        ]
        if let e = encoder {
            s["encoder"] = ["checkpoint": e.source.checkpoint, "step": e.source.step, "ema": e.source.ema]
        }
        return try JSONSerialization.data(withJSONObject: s, options: [.prettyPrinted, .sortedKeys])
    }

    /// Per clip: file, fold, true, predicted, score, top5 (`;`-separated class names).
    public func predictionsCSV() -> String {
        var out = "file,fold,true,predicted,score,top5\n"
        for p in predictions {
            let it = set.items[p.item]
            let top = p.top.map { set.classNames[$0.label] }.joined(separator: ";")
            out += [it.name, "\(it.fold)", set.classNames[p.label], p.top.first.map { set.classNames[$0.label] } ?? "",
                    p.top.first.map { String(format: "%.6f", $0.score) } ?? "", top].map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Rows = true class, columns = predicted class, with a header row and column of names.
    public func confusionCSV() -> String {
        var out = (["true\\predicted"] + set.classNames).map(csvField).joined(separator: ",") + "\n"
        for (i, row) in confusion.enumerated() {
            out += ([csvField(set.classNames[i])] + row.map(String.init)).joined(separator: ",") + "\n"
        }
        return out
    }

    /// The confusion matrix as an SVG picture: cells shaded by the share of the true class's clips,
    /// counts printed when there are at most 30 classes, class names on both axes.
    public func confusionSVG(title: String) -> String {
        let c = set.classNames.count, cell = c <= 12 ? 36 : (c <= 30 ? 22 : 12)
        let longest = set.classNames.map(\.count).max() ?? 4
        let fontSize = min(12, cell - 2), margin = 20 + longest * fontSize * 6 / 10
        let size = margin + c * cell + 20
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(size)" height="\(size + 30)" font-family="sans-serif" font-size="\(fontSize)">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="18" font-size="14">\(xml(title))</text>

            """
        let top = margin + 30
        for (i, name) in set.classNames.enumerated() {
            let y = top + i * cell + cell / 2 + fontSize / 3
            svg += "<text x=\"\(margin - 4)\" y=\"\(y)\" text-anchor=\"end\">\(xml(name))</text>\n"
            let x = margin + i * cell + cell / 2 + fontSize / 3
            svg += "<text x=\"\(x)\" y=\"\(top - 4)\" transform=\"rotate(-90 \(x) \(top - 4))\">\(xml(name))</text>\n"
        }
        for (i, row) in confusion.enumerated() {
            let total = max(1, row.reduce(0, +))
            for (j, n) in row.enumerated() {
                let share = Double(n) / Double(total)
                let shade = Int(255 - 200 * share)
                let colour = i == j ? "rgb(\(shade),\(shade),255)" : "rgb(255,\(shade),\(shade))"
                svg += "<rect x=\"\(margin + j * cell)\" y=\"\(top + i * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(colour)\" stroke=\"#ddd\"/>\n"
                if c <= 30 && n > 0 {
                    svg += "<text x=\"\(margin + j * cell + cell / 2)\" y=\"\(top + i * cell + cell / 2 + fontSize / 3)\" text-anchor=\"middle\">\(n)</text>\n"
                }
            }
        }
        return svg + "<text x=\"\(margin)\" y=\"\(top + c * cell + 16)\">rows: true class, columns: predicted</text>\n</svg>\n"
    }

    /// Writes summary.json, predictions.csv, confusion.csv and confusion.svg into `dir`.
    public func write(to dir: String, encoder: EncoderSpec?) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw EvalError("\(dir): cannot create the output folder: \(error.localizedDescription)")
        }
        let title = String(format: "zero-shot %@: top-1 %.1f %%, top-5 %.1f %% (%d clips)", set.kind, 100 * overall.top1,
                           100 * overall.top5, overall.clips)
        let files: [(String, Data)] = [
            ("summary.json", try summaryJSON(encoder: encoder)), ("predictions.csv", Data(predictionsCSV().utf8)),
            ("confusion.csv", Data(confusionCSV().utf8)), ("confusion.svg", Data(confusionSVG(title: title).utf8)),
        ]
        for (name, data) in files {
            let path = URL(fileURLWithPath: dir).appendingPathComponent(name).path
            do { try AtomicFile.write(data, to: path) } catch { throw EvalError("\(path): cannot write: \(error)") }
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// Text escaped for XML.
func xml(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
