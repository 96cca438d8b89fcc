import Foundation

/// A value of the TOML subset `avtrain` reads.
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
    /// "file:line", "--set", or "config" for a default that conflicts with the data.
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
}

/// A parser for the subset of TOML that config files use: `[section]` headers (dotted names
/// allowed), `key = value` lines with bare keys, basic "strings" (escapes \" \\ \n \t) and
/// 'literal strings', integers (with `_` separators), floats (incl. exponents, inf, nan),
/// booleans, and single-line arrays of those; `#` comments. Not supported (rejected with an
/// error): multi-line strings and arrays, inline tables, arrays of tables, dates.
public enum TOML {
    /// Parses `text`; `file` names the source in errors. Duplicate keys are an error.
    public static func parse(_ text: String, file: String) throws -> [TOMLEntry] {
        var section = ""
        var entries: [TOMLEntry] = []
        var seen = Set<String>()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let loc = "\(file):\(i + 1)"
            let line = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else {
                    throw ConfigError(location: loc, key: "", reason: "bad table header '\(line)' (arrays of tables are not supported)")
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ isBareKey(String($0)) }) else {
                    throw ConfigError(location: loc, key: "", reason: "bad table name '\(name)'")
                }
                section = name
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(location: loc, key: "", reason: "expected 'key = value' or '[section]', got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard isBareKey(key) else { throw ConfigError(location: loc, key: key, reason: "bad key name (use letters, digits, _ and -)") }
            let entry = TOMLEntry(section: section, key: key, value: try parseValue(String(line[line.index(after: eq)...]), location: loc, key: key),
                                  location: loc)
            guard seen.insert(entry.path).inserted else { throw ConfigError(location: loc, key: entry.path, reason: "key given twice") }
            entries.append(entry)
        }
        return entries
    }

    /// Parses one value as written on the right of `=` (used for `--set key=value` as well).
    /// A `--set` value that is not valid TOML (e.g. `adamw`, a path) is taken as a bare string.
    public static func parseValue(_ text: String, location: String, key: String, bareStringFallback: Bool = false) throws -> TOMLValue {
        var p = ValueParser(chars: Array(text.trimmingCharacters(in: .whitespaces)), location: location, key: key)
        do {
            let v = try p.value()
            p.skipSpaces()
            guard p.i == p.chars.count else { throw p.fail("unexpected text after the value: '\(String(p.chars[p.i...]))'") }
            return v
        } catch let e as ConfigError {
            if bareStringFallback, !text.isEmpty, !text.contains("\""), !text.contains("[") {
                return .string(text.trimmingCharacters(in: .whitespaces))
            }
            throw e
        }
    }

    static func isBareKey(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { (("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
            || $0 == "_" || $0 == "-") }
    }

    /// Drops a `#` comment that is not inside a string.
    static func stripComment(_ line: String) -> String {
        var inBasic = false, inLiteral = false, escaped = false
        for (i, c) in line.enumerated() {
            if escaped { escaped = false; continue }
            if inBasic && c == "\\" { escaped = true; continue }
            if c == "\"" && !inLiteral { inBasic.toggle() }
            if c == "'" && !inBasic { inLiteral.toggle() }
            if c == "#" && !inBasic && !inLiteral { return String(line.prefix(i)) }
        }
        return line
    }
}

struct ValueParser {
    let chars: [Character]
    let location: String
    let key: String
    var i = 0

    init(chars: [Character], location: String, key: String) { self.chars = chars; self.location = location; self.key = key }

    func fail(_ reason: String) -> ConfigError { ConfigError(location: location, key: key, reason: reason) }

    mutating func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }

    mutating func value() throws -> TOMLValue {
        skipSpaces()
        guard i < chars.count else { throw fail("missing value") }
        switch chars[i] {
        case "\"": return .string(try basicString())
        case "'": return .string(try literalString())
        case "[": return try array()
        case "{": throw fail("inline tables are not supported")
        default: return try scalar()
        }
    }

    mutating func basicString() throws -> String {
        if chars.count >= i + 3 && String(chars[i..<(i + 3)]) == "\"\"\"" { throw fail("multi-line strings are not supported") }
        i += 1
        var s = ""
        while i < chars.count {
            let c = chars[i]; i += 1
            if c == "\"" { return s }
            if c == "\\" {
                guard i < chars.count else { break }
                let e = chars[i]; i += 1
                switch e {
                case "\"": s.append("\"")
                case "\\": s.append("\\")
                case "n": s.append("\n")
                case "t": s.append("\t")
                default: throw fail("unsupported escape '\\\(e)' in string")
                }
            } else { s.append(c) }
        }
        throw fail("unterminated string")
    }

    mutating func literalString() throws -> String {
        i += 1
        guard let end = chars[i...].firstIndex(of: "'") else { throw fail("unterminated string") }
        defer { i = end + 1 }
        return String(chars[i..<end])
    }

    mutating func array() throws -> TOMLValue {
        i += 1
        var items: [TOMLValue] = []
        while true {
            skipSpaces()
            guard i < chars.count else { throw fail("unterminated array (arrays must fit on one line)") }
            if chars[i] == "]" { i += 1; return .array(items) }
            items.append(try value())
            skipSpaces()
            guard i < chars.count else { throw fail("unterminated array (arrays must fit on one line)") }
            if chars[i] == "," { i += 1 } else if chars[i] != "]" { throw fail("expected ',' or ']' in array") }
        }
    }

    mutating func scalar() throws -> TOMLValue {
        let start = i
        while i < chars.count, chars[i] != ",", chars[i] != "]", chars[i] != " ", chars[i] != "\t" { i += 1 }
        let word = String(chars[start..<i])
        switch word {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        let digits = word.replacingOccurrences(of: "_", with: "")
        if let n = Int(digits) { return .integer(n) }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(digits),
           digits.first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) == true {
            return .float(d)
        }
        throw fail("cannot read value '\(word)' (strings need quotes)")
    }
}
