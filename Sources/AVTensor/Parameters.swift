/// One named parameter inside the flat buffers: its name (timm's state_dict name), shape, offset.
public struct ParameterView: Sendable, Hashable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let count: Int
    /// Whether weight decay applies (false for norms, biases, position tables, logit scale).
    public let decay: Bool
}

/// All parameters of a model in one flat Float buffer, with gradients in a second buffer of the
/// same layout, so that one all-reduce covers the model and the optimiser is one loop.
///
/// Build with `declare` (layout only), then `allocate()`; views are stable afterwards.
public final class ParameterStore: @unchecked Sendable {
    public private(set) var views: [ParameterView] = []
    public private(set) var index: [String: Int] = [:]
    public private(set) var count = 0
    public private(set) var values: Tensor = Tensor([0])
    public private(set) var grads: Tensor = Tensor([0])

    public init() {}

    /// Adds a parameter to the layout. Names must be unique. Offsets are 16-float aligned.
    @discardableResult
    public func declare(_ name: String, _ shape: [Int], decay: Bool) -> ParameterView {
        precondition(index[name] == nil, "parameter \(name) declared twice")
        let n = shape.reduce(1, *)
        let v = ParameterView(name: name, shape: shape, offset: count, count: n, decay: decay)
        index[name] = views.count
        views.append(v)
        count += (n + 15) / 16 * 16
        return v
    }

    /// Allocates zeroed value and gradient buffers for the declared layout; `gradients: false`
    /// (inference) leaves `grads` empty.
    public func allocate(gradients: Bool = true) {
        values = Tensor([count])
        grads = Tensor([gradients ? count : 0])
    }

    /// The view named `name`, if any.
    public func view(_ name: String) -> ParameterView? { index[name].map { views[$0] } }

    /// Pointer to a parameter's values.
    @inlinable public func value(_ v: ParameterView) -> UnsafeMutablePointer<Float> { values.ptr + v.offset }

    /// Pointer to a parameter's gradient.
    @inlinable public func grad(_ v: ParameterView) -> UnsafeMutablePointer<Float> { grads.ptr + v.offset }

    /// Sets every gradient to zero.
    public func zeroGrads() { grads.fill(0) }

    /// Total number of scalar parameters (without alignment padding).
    public var parameterCount: Int { views.reduce(0) { $0 + $1.count } }
}
