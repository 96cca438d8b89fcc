import Foundation
import SwiftCSV

/// Metadata CSVs read with SwiftCSV (quoted fields, CRLF), checked against an exact header.
enum CSVRows {
    /// The data rows of `path`, whose header must be `header` (a UTF-8 BOM and surrounding spaces
    /// are ignored); every row must have as many fields. Errors name the file and line.
    static func read(_ path: String, header: [String]) throws -> [[String]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError("\(path): missing or unreadable") }
        guard var text = String(data: data, encoding: .utf8) else { throw EvalError("\(path): not UTF-8 text") }
        if text.hasPrefix("\u{feff}") { text.removeFirst() }
        let csv: EnumeratedCSV
        do { csv = try EnumeratedCSV(string: text, delimiter: .comma, loadColumns: false) } catch {
            throw EvalError("\(path): not a valid CSV: \(error)")
        }
        let found = csv.header.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard found == header else {
            throw EvalError("\(path): columns are \(found), the official layout has \(header)")
        }
        var rows: [[String]] = []
        for (i, row) in csv.rows.enumerated() {
            let r = row.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if r.allSatisfy(\.isEmpty) { continue }
            guard r.count == header.count else {
                throw EvalError("\(path):\(i + 2): \(r.count) fields, the header has \(header.count)")
            }
            rows.append(r)
        }
        return rows
    }
}
