import Foundation

/// A `.npy` array opened for row reads (memory-mapped): format versions 1, 2 and 3, little-endian
/// float32 (`<f4`) or float16 (`<f2`), C order. Errors name the file and what is wrong.
public struct NpyArray: @unchecked Sendable {
    public enum Element: String, Sendable { case float32 = "<f4", float16 = "<f2" }

    public let path: String
    public let shape: [Int]
    public let element: Element
    let data: Data
    let offset: Int

    /// Elements per row (product of all dimensions but the first).
    public var rowElements: Int { shape.dropFirst().reduce(1, *) }
    public var rows: Int { shape.first ?? 0 }

    public init(path: String) throws {
        self.path = path
        func fail(_ why: String) -> DataError { DataError(file: path, reason: why) }
        guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw fail("cannot read .npy file") }
        data = d
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard d.count >= 10, Array(d.prefix(6)) == magic else { throw fail("not a .npy file (bad magic)") }
        let major = d[d.startIndex + 6]
        let headerLen: Int, start: Int
        switch major {
        case 1: headerLen = Int(d[d.startIndex + 8]) | Int(d[d.startIndex + 9]) << 8; start = 10
        case 2, 3:
            guard d.count >= 12 else { throw fail("truncated header") }
            headerLen = (0..<4).reduce(0) { $0 | Int(d[d.startIndex + 8 + $1]) << (8 * $1) }; start = 12
        default: throw fail("unsupported .npy version \(major)")
        }
        guard start + headerLen <= d.count else { throw fail("truncated header") }
        let header = String(decoding: d[(d.startIndex + start)..<(d.startIndex + start + headerLen)], as: UTF8.self)
        func field(_ key: String) throws -> String {
            guard let r = header.range(of: "'\(key)':") else { throw fail("header has no '\(key)': \(header)") }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        let descr = try field("descr")
        guard let q = descr.dropFirst().firstIndex(of: "'") else { throw fail("bad descr in \(header)") }
        let type = String(descr[descr.index(after: descr.startIndex)..<q])
        guard let el = Element(rawValue: type == "|f2" ? "<f2" : type) else {
            throw fail("dtype '\(type)' is not supported (need little-endian float32 '<f4' or float16 '<f2')")
        }
        guard try field("fortran_order").hasPrefix("False") else { throw fail("Fortran-order arrays are not supported (save with C order)") }
        let sh = try field("shape")
        guard sh.hasPrefix("("), let close = sh.firstIndex(of: ")") else { throw fail("bad shape in \(header)") }
        let dims = sh[sh.index(after: sh.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { s -> Int in guard let v = Int(s), v >= 0 else { throw fail("bad dimension '\(s)'") }; return v }
        element = el
        self.shape = shape
        offset = start + headerLen
        let size = el == .float32 ? 4 : 2
        var need = size
        for v in shape {
            let (p, o) = need.multipliedReportingOverflow(by: v)
            guard !o, p <= d.count else { throw fail("shape \(shape) needs more bytes than the \(d.count)-byte file holds") }
            need = p
        }
        guard d.count - offset >= need else { throw fail("truncated: \(d.count - offset) data bytes for shape \(shape) (\(need) needed)") }
    }

    /// Row `r` (all but the first dimension) as Float.
    public func row(_ r: Int) throws -> [Float] {
        guard r >= 0 && r < rows else { throw DataError(file: path, index: r, reason: "row outside 0..<\(rows)") }
        let n = rowElements
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + offset
            switch element {
            case .float32:
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: (base + (r * n + i) * 4).loadUnaligned(as: UInt32.self))) }
            case .float16:
                for i in 0..<n { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: (base + (r * n + i) * 2).loadUnaligned(as: UInt16.self)))) }
            }
        }
        return out
    }
}
