import Foundation
import AVTensor
import AVSafetensors

extension SwinEncoder {
    /// timm-like initialisation: Linear weights and position-bias tables ~ trunc_normal(std 0.02,
    /// bounds ±2 as timm), zero biases, LayerNorm weight 1 / bias 0; the patch-embedding conv
    /// keeps PyTorch's default U(−1/√fan_in, 1/√fan_in) for weight and bias.
    public func initialize(seed: UInt64) {
        var rng = Rng(seed: seed)
        let fanIn = Float(config.inChannels * config.patchSize * config.patchSize)
        for v in params.views {
            let p = params.value(v)
            let n = v.name
            if n.hasPrefix("patch_embed.proj.") {
                let bound = 1 / fanIn.squareRoot()
                for i in 0..<v.count { p[i] = (2 * rng.uniform() - 1) * bound }
            } else if n.hasSuffix("relative_position_bias_table") || (v.shape.count == 2 && n.hasSuffix(".weight")) {
                // timm's trunc_normal_(std=.02, a=-2, b=2): the bounds are absolute (±100σ).
                for i in 0..<v.count {
                    var x: Float
                    repeat { x = rng.normal() * 0.02 } while abs(x) > 2
                    p[i] = x
                }
            } else if n.hasSuffix(".weight") {
                p.update(repeating: 1, count: v.count)   // LayerNorm
            } else {
                p.update(repeating: 0, count: v.count)   // biases
            }
        }
    }

    /// Loads every parameter by timm state_dict name from `file`. Each tensor of the file must be
    /// one of this model's parameters (same shape) unless `skipping` returns true for its name;
    /// timm buffers (`relative_position_index`, `attn_mask`) are skipped. Every parameter of the
    /// model must be present. Throws naming the file and tensor otherwise.
    public func loadTimm(_ file: SafetensorsFile, skipping: (String) -> Bool = { _ in false }) throws {
        var loaded = Set<String>()
        for name in file.names {
            if skipping(name) || name.hasSuffix("relative_position_index") || name.hasSuffix("attn_mask") { continue }
            guard let view = params.view(name) else {
                throw SwinError("\(file.path): tensor '\(name)' is not a parameter of this Swin encoder")
            }
            let shape = try file.entry(name).shape
            guard shape == view.shape else {
                throw SwinError("\(file.path): tensor '\(name)' has shape \(shape), the model expects \(view.shape)")
            }
            let values = try file.floats(name)
            values.withUnsafeBufferPointer { params.value(view).update(from: $0.baseAddress!, count: view.count) }
            loaded.insert(name)
        }
        let missing = params.views.map(\.name).filter { !loaded.contains($0) }
        guard missing.isEmpty else {
            throw SwinError("\(file.path): missing \(missing.count) parameter(s): \(missing.prefix(5).joined(separator: ", "))")
        }
    }

    /// The parameters as (name, shape, values) in declaration order, ready for a safetensors
    /// writer (timm-loadable names and layouts).
    public func timmTensors() -> [(name: String, shape: [Int], values: [Float])] {
        params.views.map { v in (v.name, v.shape, Array(UnsafeBufferPointer(start: params.value(v), count: v.count))) }
    }
}

extension SwinConfig {
    /// A config from timm-style keyword arguments stored as JSON strings (as in a safetensors
    /// `__metadata__`): img_size, patch_size, in_chans, embed_dim, depths, num_heads, window_size,
    /// mlp_ratio, num_classes (→ embeddingSize), drop_path_rate.
    public static func fromTimmMetadata(_ md: [String: String]) throws -> SwinConfig {
        func json(_ key: String) throws -> Any {
            guard let s = md[key] else { throw SwinError("metadata lacks '\(key)'") }
            guard let v = try? JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed]) else {
                throw SwinError("metadata '\(key)' is not JSON: \(s)")
            }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let n = try json(key) as? NSNumber else { throw SwinError("metadata '\(key)' is not a number") }
            return n.intValue
        }
        func ints(_ key: String) throws -> [Int] {
            guard let a = try json(key) as? [NSNumber] else { throw SwinError("metadata '\(key)' is not a list of numbers") }
            return a.map(\.intValue)
        }
        func float(_ key: String, default d: Float) throws -> Float {
            guard md[key] != nil else { return d }
            guard let n = try json(key) as? NSNumber else { throw SwinError("metadata '\(key)' is not a number") }
            return n.floatValue
        }
        return SwinConfig(imageSize: try ints("img_size"), patchSize: try int("patch_size"), inChannels: try int("in_chans"),
                          embedDim: try int("embed_dim"), depths: try ints("depths"), numHeads: try ints("num_heads"),
                          windowSize: try int("window_size"), mlpRatio: try float("mlp_ratio", default: 4),
                          embeddingSize: try int("num_classes"), dropPathRate: try float("drop_path_rate", default: 0))
    }
}
