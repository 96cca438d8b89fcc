import AVTensor

/// Activation and scratch buffers of a model, allocated once when the model is built (for a
/// fixed maximum batch and input size) and reused by every step, so that steady-state training
/// allocates nothing. Keeps a tally for memory reports.
///
/// With `shareAcrossLayers` (forward-only models: nothing is kept for a backward pass), requests
/// with the same key share one allocation (grown when a later request is larger), so memory is
/// that of the largest layer rather than the sum over layers.
public final class BufferPlan {
    private var tensors: [Tensor] = []
    private var shared: [String: Tensor] = [:]
    public let shareAcrossLayers: Bool
    /// Floats held for activations saved between forward and backward.
    public private(set) var savedFloats = 0
    /// Floats held for scratch shared across layers.
    public private(set) var scratchFloats = 0

    public init(shareAcrossLayers: Bool = false) { self.shareAcrossLayers = shareAcrossLayers }

    /// A zeroed buffer of `count` floats that lives as long as the plan; `key` names its role
    /// (for sharing); `saved` marks whether it holds activations kept for backward (else scratch).
    public func buffer(_ count: Int, key: String, saved: Bool = true) -> UnsafeMutablePointer<Float> {
        if shareAcrossLayers, let t = shared[key], t.count >= count { return t.ptr }
        let t = Tensor([count])
        tensors.append(t)
        if shareAcrossLayers { shared[key] = t }
        if saved { savedFloats += count } else { scratchFloats += count }
        return t.ptr
    }

    /// Total bytes of all buffers.
    public var bytes: Int { (savedFloats + scratchFloats) * 4 }
}
