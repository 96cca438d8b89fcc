/// A contiguous, 64-byte-aligned Float32 buffer with a shape (row-major).
///
/// Tensors own their storage; kernels work on raw pointers (`ptr`) so that model code can also
/// point them into flat parameter/gradient buffers.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(_ shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        ptr = raw.bindMemory(to: Float.self, capacity: max(1, count))
        ptr.initialize(repeating: 0, count: max(1, count))
    }

    /// A tensor holding `values` (whose count must match the shape).
    public convenience init(_ shape: [Int], _ values: [Float]) {
        self.init(shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { ptr.update(from: $0.baseAddress!, count: count) }
    }

    deinit { ptr.deallocate() }

    /// The values as an array (a copy).
    public var array: [Float] { Array(UnsafeBufferPointer(start: ptr, count: count)) }

    /// Element access by flat index.
    @inlinable public subscript(i: Int) -> Float {
        get { ptr[i] }
        set { ptr[i] = newValue }
    }

    /// Sets every element to `v`.
    public func fill(_ v: Float) { ptr.update(repeating: v, count: count) }

    /// A buffer view of the storage.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: ptr, count: count) }
}
