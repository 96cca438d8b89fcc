import Foundation
import TOMLKit

/// A value of a config file (TOML scalars and arrays; tables become dotted sections).
public enum TOMLValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])

    /// The TOML type name, for error messages.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .array: return "array"
        }
    }

    /// The value as TOML source text.
    public var toml: String {
        switch self {
        case .string(let s):
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out += u.value < 0x20 || u.value == 0x7F ? String(format: "\\u%04X", u.value) : String(u)
                }
            }
            return out + "\""
        case .integer(let i): return String(i)
        case .float(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            let s = "\(d)"
            return s.contains(".") || s.contains("e") ? s : s + ".0"
        case .boolean(let b): return String(b)
        case .array(let a): return "[" + a.map(\.toml).joined(separator: ", ") + "]"
        }
    }

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .boolean(let b): return String(b)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// A TOML parse error, or a config error, at `file:line`.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// "file:line", "--set", or "default" for a default that conflicts with a set key.
    public let location: String
    /// "section.key" (empty for a syntax error not tied to a key).
    public let key: String
    public let reason: String
    public init(location: String, key: String, reason: String) {
        self.location = location; self.key = key; self.reason = reason
    }
    public var description: String { "\(location): " + (key.isEmpty ? reason : "\(key): \(reason)") }
}

/// One `key = value` of a document, with where it was written.
public struct TOMLEntry: Equatable, Sendable {
    public let section: String
    public let key: String
    public let value: TOMLValue
    /// "file:line" or "--set".
    public let location: String
    public var path: String { section.isEmpty ? key : "\(section).\(key)" }
    public init(section: String, key: String, value: TOMLValue, location: String) {
        self.section = section; self.key = key; self.value = value; self.location = location
    }
}

/// Config files are TOML 1.0, parsed by TOMLKit (toml++): CRLF line ends, multi-line arrays,
/// inline tables, dotted keys, every string form. A document becomes a flat list of entries
/// (`[a.b] c = 1`, `a.b.c = 1` and `a = {b = {c = 1}}` are all section "a.b", key "c"), each
/// with the line it was written on — the library gives lines only for syntax errors, so
/// `KeyLines` finds them. Dates and arrays of tables are refused (no config key takes one).
public enum TOML {
    /// Parses `text`; `file` names the source in errors. A key or table given twice is an error.
    public static func parse(_ text: String, file: String) throws -> [TOMLEntry] {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigError(location: "\(file):\(e.source.begin.line)", key: "", reason: e.description)
        }
        let lines = KeyLines(text)
        var entries: [TOMLEntry] = []
        func walk(_ t: TOMLTable, _ prefix: [String]) throws {
            for key in t.keys {
                guard let v = t[key] else { continue }
                let path = prefix + [key]
                let loc = "\(file):\(lines.line(of: path))"
                if let sub = v.table { try walk(sub, path); continue }
                entries.append(TOMLEntry(section: prefix.joined(separator: "."), key: key,
                                         value: try convert(v, location: loc, key: path.joined(separator: ".")), location: loc))
            }
        }
        try walk(table, [])
        return entries.sorted { (lineNumber($0.location), $0.path) < (lineNumber($1.location), $1.path) }
    }

    static func lineNumber(_ location: String) -> Int { Int(location.split(separator: ":").last ?? "") ?? 0 }

    static func convert(_ v: TOMLValueConvertible, location: String, key: String) throws -> TOMLValue {
        switch v.type {
        case .int: return .integer(v.int ?? 0)
        case .double: return .float(v.double ?? .nan)
        case .string: return .string(v.string ?? "")
        case .bool: return .boolean(v.bool ?? false)
        case .array:
            return .array(try (v.array.map(Array.init) ?? []).map { e in
                guard e.type != .table else {
                    throw ConfigError(location: location, key: key, reason: "tables inside arrays are not supported")
                }
                return try convert(e, location: location, key: key)
            })
        case .table: throw ConfigError(location: location, key: key, reason: "a table is not a value")
        case .date, .time, .dateTime: throw ConfigError(location: location, key: key, reason: "dates and times are not supported")
        }
    }

    /// Parses one value as written on the right of `=` (for `--set key=value`). A value that is
    /// not valid TOML and has no quote or bracket (e.g. `adamw`, a path) is taken as a bare string.
    public static func parseValue(_ text: String, location: String, key: String, bareStringFallback: Bool = false) throws -> TOMLValue {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.contains("\n"), let t = try? TOMLTable(string: "v = " + trimmed), let v = t["v"] {
            return try convert(v, location: location, key: key)
        }
        if bareStringFallback, !trimmed.isEmpty, !trimmed.contains("\""), !trimmed.contains("'"), !trimmed.contains("["),
           !trimmed.contains("{"), !trimmed.contains("\n") {
            return .string(trimmed)
        }
        throw ConfigError(location: location, key: key, reason: "'\(trimmed)' is not a TOML value (strings need quotes)")
    }
}

/// Where each key of a TOML document was written: line numbers for dotted key paths, found by
/// following `[table]` headers and `key =` / `a.b =` / `x = { k = … }` starts of lines.
struct KeyLines {
    private var lines: [[String]: Int] = [:]

    init(_ text: String) {
        var table: [String] = []
        var depth = 0                                         // open [ and { of a multi-line value
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = KeyLines.stripComment(String(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
            let n = i + 1
            if depth == 0, line.hasPrefix("["), let end = line.lastIndex(of: "]") {
                let inner = line[line.index(after: line.startIndex)..<end].trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                table = KeyLines.keyPath(inner)
                record(table, n)
                continue
            }
            if depth == 0, let eq = KeyLines.assignment(line) {
                let path = table + KeyLines.keyPath(String(line[..<eq]))
                record(path, n)
                let rest = line[line.index(after: eq)...]
                if let open = rest.firstIndex(of: "{") {             // inline table: its keys, same line
                    for part in rest[rest.index(after: open)...].split(separator: ",").map(String.init) {
                        if let e = KeyLines.assignment(part) { record(path + KeyLines.keyPath(String(part[..<e])), n) }
                    }
                }
            }
            for c in KeyLines.stripStrings(line) {
                if c == "[" || c == "{" { depth += 1 } else if (c == "]" || c == "}") && depth > 0 { depth -= 1 }
            }
        }
    }

    mutating func record(_ path: [String], _ line: Int) { if lines[path] == nil { lines[path] = line } }

    /// The line of `path`, or of its longest recorded prefix (a key inside an inline table), or 0.
    func line(of path: [String]) -> Int {
        var p = path
        while !p.isEmpty {
            if let n = lines[p] { return n }
            p.removeLast()
        }
        return 0
    }

    /// The index of the `=` of a `key = value` line (outside quotes), if it is one.
    static func assignment(_ s: String) -> String.Index? {
        var quote: Character?
        for i in s.indices {
            let c = s[i]
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == "=" { return i }
            if c == "[" || c == "{" || c == "," { return nil }
        }
        return nil
    }

    /// `a."b.c".d` → ["a", "b.c", "d"].
    static func keyPath(_ s: String) -> [String] {
        var parts: [String] = [], cur = "", quote: Character?
        for c in s {
            if let q = quote { if c == q { quote = nil } else { cur.append(c) }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == "." { parts.append(cur.trimmingCharacters(in: .whitespaces)); cur = ""; continue }
            cur.append(c)
        }
        parts.append(cur.trimmingCharacters(in: .whitespaces))
        return parts.filter { !$0.isEmpty }
    }

    /// Drops a `#` comment that is not inside a string.
    static func stripComment(_ line: String) -> String {
        var quote: Character?, escaped = false
        for (i, c) in line.enumerated() {
            if escaped { escaped = false; continue }
            if quote == "\"" && c == "\\" { escaped = true; continue }
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == "#" { return String(line.prefix(i)) }
        }
        return line
    }

    /// The line without the contents of its strings (for bracket counting).
    static func stripStrings(_ line: String) -> String {
        var out = "", quote: Character?, escaped = false
        for c in line {
            if escaped { escaped = false; continue }
            if quote == "\"" && c == "\\" { escaped = true; continue }
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            out.append(c)
        }
        return out
    }
}
