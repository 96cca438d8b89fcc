import AVTensor

/// Activation and scratch buffers of a model, allocated once when the model is built (for a
/// fixed maximum batch and input size) and reused by every step, so that steady-state training
/// allocates nothing. Keeps a tally for memory reports.
public final class BufferPlan {
    private var tensors: [Tensor] = []
    /// Floats held for activations saved between forward and backward.
    public private(set) var savedFloats = 0
    /// Floats held for scratch shared across layers.
    public private(set) var scratchFloats = 0

    public init() {}

    /// A zeroed buffer of `count` floats that lives as long as the plan; `saved` marks whether it
    /// holds activations kept for backward (else scratch).
    public func buffer(_ count: Int, saved: Bool = true) -> UnsafeMutablePointer<Float> {
        let t = Tensor([count])
        tensors.append(t)
        if saved { savedFloats += count } else { scratchFloats += count }
        return t.ptr
    }

    /// Total bytes of all buffers.
    public var bytes: Int { (savedFloats + scratchFloats) * 4 }
}
