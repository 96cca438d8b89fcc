import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An error reading or writing a safetensors file; always names the file (and tensor, if any).
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let tensor: String?
    public let reason: String
    public var description: String {
        "safetensors \(file)" + (tensor.map { ", tensor '\($0)'" } ?? "") + ": \(reason)"
    }
}

/// A safetensors file read into memory and validated as hostile input.
///
/// Checked: the 8-byte header length (≤ `maxHeaderBytes`, inside the file), the header is a JSON
/// object of entries with a known dtype, non-negative shape and `data_offsets` [begin, end] whose
/// span equals elements × dtype size without overflow, every span inside the data section, no two
/// spans overlapping and no bytes left unclaimed. Every failure throws `SafetensorsError`.
public struct SafetensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// Headers larger than this are refused (the format's own reference limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    let bytes: Data
    let dataStart: Int

    /// Names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates `path`.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw SafetensorsError(file: path, tensor: nil, reason: "cannot read file (\(error.localizedDescription))")
        }
        try self.init(data: data, path: path)
    }

    /// Validates in-memory bytes; `path` is used in error messages.
    public init(data: Data, path: String) throws {
        func fail(_ reason: String, _ tensor: String? = nil) -> SafetensorsError {
            SafetensorsError(file: path, tensor: tensor, reason: reason)
        }
        self.path = path
        bytes = data
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let n64 = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian }
        guard n64 <= UInt64(Self.maxHeaderBytes) else { throw fail("header length \(n64) exceeds the \(Self.maxHeaderBytes)-byte limit") }
        let n = Int(n64)
        guard n >= 2 else { throw fail("header length \(n) is too small for a JSON object") }
        guard 8 + n <= data.count else { throw fail("header length \(n) runs past the end of the \(data.count)-byte file (truncated?)") }
        dataStart = 8 + n
        let headerBytes = data.subdata(in: 8..<(8 + n))
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw fail("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataSize = data.count - dataStart
        var meta: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let e = value as? [String: Any] else { throw fail("entry is not an object", name) }
            guard let ds = e["dtype"] as? String else { throw fail("missing dtype", name) }
            guard let dtype = DType(rawValue: ds) else { throw fail("unsupported dtype \(ds)", name) }
            guard let shapeAny = e["shape"] as? [Any] else { throw fail("missing or malformed shape", name) }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let dim = Self.exactInt(d), dim >= 0 else { throw fail("shape \(shapeAny) has a bad dimension", name) }
                shape.append(dim)
                let (p, o) = elements.multipliedReportingOverflow(by: dim)
                guard !o, p <= dataSize else { throw fail("shape \(shape) has more elements than the file can hold", name) }
                elements = p
            }
            guard let offs = e["data_offsets"] as? [Any], offs.count == 2,
                  let begin = Self.exactInt(offs[0]), let end = Self.exactInt(offs[1]) else {
                throw fail("missing or malformed data_offsets", name)
            }
            guard begin >= 0, begin <= end else { throw fail("data_offsets [\(begin), \(end)] are not ordered", name) }
            guard end <= dataSize else {
                throw fail("data_offsets end \(end) is past the \(dataSize)-byte data section (truncated?)", name)
            }
            guard end - begin == elements * dtype.size else {
                throw fail("data_offsets span \(end - begin) bytes but shape \(shape) of \(ds) needs \(elements * dtype.size)", name)
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        // Spans must tile the data section exactly: no overlap, no gap, nothing trailing.
        var cursor = 0
        for e in entries.values.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if e.begin < cursor { throw fail("bytes [\(e.begin), \(e.end)) overlap another tensor", e.name) }
            if e.begin > cursor { throw fail("unclaimed bytes [\(cursor), \(e.begin)) before this tensor", e.name) }
            cursor = e.end
        }
        if cursor != dataSize { throw fail("\(dataSize - cursor) trailing bytes after the last tensor") }
        self.metadata = meta
        self.entries = entries
    }

    static func exactInt(_ v: Any) -> Int? {
        guard let num = v as? NSNumber, String(cString: num.objCType) != "c" else { return nil }  // "c": JSON true/false
        if let i = v as? Int { return i }
        if let d = v as? Double, d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        return nil
    }

    /// The entry named `name`, or an error naming the file and tensor.
    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafetensorsError(file: path, tensor: name, reason: "no such tensor") }
        return e
    }

    /// The raw little-endian bytes of a tensor.
    public func rawBytes(_ name: String) throws -> Data {
        let e = try entry(name)
        return bytes.subdata(in: (dataStart + e.begin)..<(dataStart + e.end))
    }

    /// A float tensor (F32, F16, BF16, F64 converted; integers and bool converted exactly) as Float.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        let n = e.count
        return bytes.withUnsafeBytes { raw -> [Float] in
            let base = raw.baseAddress! + dataStart + e.begin
            var out = [Float](repeating: 0, count: n)
            switch e.dtype {
            case .f32: for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f64: for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .f16: for i in 0..<n { out[i] = HalfFloat.fromF16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16: for i in 0..<n { out[i] = HalfFloat.fromBF16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .i32: for i in 0..<n { out[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .i64: for i in 0..<n { out[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i16: for i in 0..<n { out[i] = Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .i8: for i in 0..<n { out[i] = Float(base.load(fromByteOffset: i, as: Int8.self)) }
            case .u8, .bool: for i in 0..<n { out[i] = Float(base.load(fromByteOffset: i, as: UInt8.self)) }
            }
            return out
        }
    }

    /// Tensor `name` as Float into `out` (whose count must be the tensor's). An F32 tensor is read
    /// straight from the file into `out` with `pread` — no intermediate array, and no page of the
    /// mapping made resident (loading a model costs its weights once, not twice); other dtypes
    /// convert through `floats`.
    public func readFloats(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
        let e = try entry(name)
        guard out.count == e.count else {
            throw SafetensorsError(file: path, tensor: name, reason: "has \(e.count) elements, the destination \(out.count)")
        }
        guard e.dtype == .f32, 1.littleEndian == 1, let base = out.baseAddress, e.count > 0 else {
            let v = try floats(name)
            v.withUnsafeBufferPointer { if let s = $0.baseAddress, let d = out.baseAddress { d.update(from: s, count: v.count) } }
            return
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafetensorsError(file: path, tensor: name, reason: "cannot open for reading") }
        defer { close(fd) }
        let raw = UnsafeMutableRawPointer(base)
        var done = 0
        let total = e.end - e.begin
        while done < total {
            let n = pread(fd, raw + done, total - done, off_t(dataStart + e.begin + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw SafetensorsError(file: path, tensor: name, reason: "read \(done) of \(total) bytes (file changed or truncated?)")
            }
            done += n
        }
    }

    /// An integer tensor (I64, I32, I16, I8, U8, BOOL) as Int64.
    public func ints(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        let n = e.count
        return try bytes.withUnsafeBytes { raw -> [Int64] in
            let base = raw.baseAddress! + dataStart + e.begin
            switch e.dtype {
            case .i64: return (0..<n).map { Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            case .i32: return (0..<n).map { Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .i16: return (0..<n).map { Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
            case .i8: return (0..<n).map { Int64(base.load(fromByteOffset: $0, as: Int8.self)) }
            case .u8, .bool: return (0..<n).map { Int64(base.load(fromByteOffset: $0, as: UInt8.self)) }
            default: throw SafetensorsError(file: path, tensor: name, reason: "dtype \(e.dtype.rawValue) is not an integer type")
            }
        }
    }
}
