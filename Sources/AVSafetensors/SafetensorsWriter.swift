import Foundation
import AVFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a safetensors file: add tensors (any supported dtype) and metadata, then `write`.
/// The header's keys are sorted and it is padded with spaces to a multiple of 8 bytes.
public struct SafetensorsWriter {
    private var items: [(name: String, dtype: DType, shape: [Int], data: Data)] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds float values stored as `dtype` (F32, F16, BF16 or F64).
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>, as dtype: DType = .f32) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): \(floats.count) values for shape \(shape)")
        var d = Data(capacity: floats.count * dtype.size)
        switch dtype {
        case .f32:
            #if _endian(little)
            d.append(floats)   // one copy (checkpoints hold hundreds of millions of floats)
            #else
            for x in floats { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            #endif
        case .f16: for x in floats { withUnsafeBytes(of: HalfFloat.toF16(x).littleEndian) { d.append(contentsOf: $0) } }
        case .bf16: for x in floats { withUnsafeBytes(of: HalfFloat.toBF16(x).littleEndian) { d.append(contentsOf: $0) } }
        case .f64: for x in floats { withUnsafeBytes(of: Double(x).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        default: preconditionFailure("\(name): \(dtype) is not a float dtype")
        }
        items.append((name, dtype, shape, d))
    }

    /// Adds float values stored as `dtype`.
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: DType = .f32) {
        floats.withUnsafeBufferPointer { add(name, shape: shape, floats: $0, as: dtype) }
    }

    /// Adds integers stored as `dtype` (I64, I32, I16, I8, U8 or BOOL).
    public mutating func add(_ name: String, shape: [Int], ints: [Int64], as dtype: DType = .i64) {
        precondition(shape.reduce(1, *) == ints.count, "\(name): \(ints.count) values for shape \(shape)")
        var d = Data(capacity: ints.count * dtype.size)
        for x in ints {
            switch dtype {
            case .i64: withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) }
            case .i32: withUnsafeBytes(of: Int32(x).littleEndian) { d.append(contentsOf: $0) }
            case .i16: withUnsafeBytes(of: Int16(x).littleEndian) { d.append(contentsOf: $0) }
            case .i8: d.append(UInt8(bitPattern: Int8(x)))
            case .u8: d.append(UInt8(x))
            case .bool: d.append(x != 0 ? 1 : 0)
            default: preconditionFailure("\(name): \(dtype) is not an integer dtype")
            }
        }
        items.append((name, dtype, shape, d))
    }

    /// The complete file contents.
    public func serialize() -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for it in items.sorted(by: { $0.name < $1.name }) {
            header[it.name] = ["dtype": it.dtype.rawValue, "shape": it.shape, "data_offsets": [offset, offset + it.data.count]]
            offset += it.data.count
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for it in items.sorted(by: { $0.name < $1.name }) { out.append(it.data) }
        return out
    }

    /// Writes the file atomically (see `AtomicFile.write`).
    public func write(to path: String) throws {
        try AtomicFile.write(serialize(), to: path)
    }
}
