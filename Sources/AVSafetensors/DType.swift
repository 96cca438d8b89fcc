/// Element types of the safetensors format that avtrain reads and writes.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i32 = "I32", i64 = "I64", bool = "BOOL"
    case f64 = "F64", i16 = "I16", i8 = "I8", u8 = "U8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .bool, .i8, .u8: return 1
        }
    }
}

/// IEEE half ↔ float and bfloat16 ↔ float conversions (round to nearest even).
public enum HalfFloat {
    @inlinable public static func fromF16(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }
    @inlinable public static func toF16(_ x: Float) -> UInt16 { Float16(x).bitPattern }
    @inlinable public static func fromBF16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
    @inlinable public static func toBF16(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}
