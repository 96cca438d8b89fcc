import Foundation
import SwiftCSV

/// A CSV file with a header row, parsed by SwiftCSV (RFC 4180 quoting: fields may hold commas,
/// newlines and quotes written as `""`; LF, CRLF or CR line ends; a UTF-8 BOM is skipped).
/// Blank lines are skipped; every other row must have as many fields as the header. Errors name
/// the file and the line.
public struct CSVTable: Sendable {
    public let path: String
    /// Column names (surrounding spaces trimmed).
    public let header: [String]
    /// The data rows, each with as many fields as the header.
    public let rows: [[String]]
    /// The 1-based line of the file on which each row starts (rows may span lines).
    public let lines: [Int]

    /// Reads and parses `path`.
    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(file: path, reason: "cannot read CSV") }
        guard var text = String(data: data, encoding: .utf8) else { throw DataError(file: path, reason: "not UTF-8 text") }
        // SwiftCSV drops a trailing empty field (`a.wav,`) on a last line without a line end.
        if let last = text.last, !last.isNewline { text.append("\n") }
        // Records as SwiftCSV reads them, unpadded (its `rows` fill short rows with "" and so hide
        // missing fields), with the line each starts on (its errors carry no position).
        var records: [(fields: [String], line: Int)] = []
        var line = 1
        do {
            let csv = try EnumeratedCSV(string: text, delimiter: .comma, loadColumns: false, rowLimit: 0)   // strips a BOM
            try csv.enumerateAsArray(startAt: 0, rowLimit: nil) { fields in
                records.append((fields, line))
                line += 1 + fields.reduce(0) { $0 + $1.reduce(0) { $0 + ($1.isNewline ? 1 : 0) } }
            }
        } catch let CSVParseError.quotation(message), let CSVParseError.generic(message) {
            throw DataError(file: path, reason: "line \(line): bad quoting (\(message)); a field holding a quote must be "
                                                + "quoted as a whole, with the quote doubled")
        }
        // SwiftCSV reads an unclosed quote to the end of the file as one field, silently; every
        // quote it accepts is one of a pair, so an odd count means an unclosed quote.
        if text.reduce(0, { $0 + ($1 == "\"" ? 1 : 0) }) % 2 == 1 {
            throw DataError(file: path, reason: "line \(records.last?.line ?? 1): a quoted field is never closed")
        }
        records.removeAll { $0.fields == [""] }
        guard let first = records.first else { throw DataError(file: path, reason: "CSV is empty (a header row is required)") }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        for r in records.dropFirst() where r.fields.count != header.count {
            throw DataError(file: path, reason: "line \(r.line): \(r.fields.count) fields, the header has \(header.count)")
        }
        rows = records.dropFirst().map(\.fields)
        lines = records.dropFirst().map(\.line)
    }

    /// The index of the first column named one of `names` (case-insensitive).
    public func column(_ names: [String]) -> Int? {
        for n in names { if let i = header.firstIndex(where: { $0.lowercased() == n }) { return i } }
        return nil
    }
}
