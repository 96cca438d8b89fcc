import Foundation

/// A CSV file with a header row (RFC 4180: quoted fields may hold commas, quotes as "", newlines).
public struct CSVTable: Sendable {
    public let path: String
    /// Column names and the data rows (every row has as many fields as the header).
    public let header: [String]
    public let rows: [[String]]

    /// Reads and parses `path`; errors name the file and the offending row.
    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(file: path, reason: "cannot read CSV") }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{feff}") { text.removeFirst() }                 // a UTF-8 BOM (spreadsheet exports)
        var all = CSVTable.parse(text)
        guard !all.isEmpty else { throw DataError(file: path, reason: "CSV is empty (a header row is required)") }
        header = all.removeFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        for (i, r) in all.enumerated() where r.count != header.count {
            throw DataError(file: path, dataset: "row \(i + 2)", reason: "\(r.count) fields, header has \(header.count)")
        }
        rows = all
    }

    /// The index of the first column named one of `names` (case-insensitive).
    public func column(_ names: [String]) -> Int? {
        for n in names { if let i = header.firstIndex(where: { $0.lowercased() == n }) { return i } }
        return nil
    }

    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, i = text.startIndex
        while i < text.endIndex {
            let ch = text[i]
            if quoted {
                if ch == "\"" {
                    let n = text.index(after: i)
                    if n < text.endIndex && text[n] == "\"" { field.append("\""); i = n } else { quoted = false }
                } else { field.append(ch) }
            } else {
                switch ch {
                case "\"": quoted = true
                case ",": row.append(field); field = ""
                case "\n", "\r\n", "\r":
                    row.append(field); field = ""
                    if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
                    row = []
                default: field.append(ch)
                }
            }
            i = text.index(after: i)
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
