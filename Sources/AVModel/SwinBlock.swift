import AVTensor

/// Scratch buffers shared by all layers (sized for the largest stage).
struct SwinScratch {
    /// [rows, C] token-sized buffers.
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>
    /// [rows, 4C] (MLP hidden / merged rows).
    let wide: UnsafeMutablePointer<Float>
    /// [rows, 3C] (qkv gradient).
    let qkv: UnsafeMutablePointer<Float>
}

/// Parameter views of one `SwinTransformerBlock` (timm names under `prefix`).
struct SwinBlockParams {
    let norm1W, norm1B, table, qkvW, qkvB, projW, projB, norm2W, norm2B, fc1W, fc1B, fc2W, fc2B: ParameterView
    /// Flat offset of the block's first parameter (its parameters are contiguous from here).
    var firstOffset: Int { norm1W.offset }

    init(_ p: ParameterStore, prefix: String, dim: Int, heads: Int, hidden: Int, tableRows: Int) {
        norm1W = p.declare(prefix + "norm1.weight", [dim], decay: false)
        norm1B = p.declare(prefix + "norm1.bias", [dim], decay: false)
        table = p.declare(prefix + "attn.relative_position_bias_table", [tableRows, heads], decay: false)
        qkvW = p.declare(prefix + "attn.qkv.weight", [3 * dim, dim], decay: true)
        qkvB = p.declare(prefix + "attn.qkv.bias", [3 * dim], decay: false)
        projW = p.declare(prefix + "attn.proj.weight", [dim, dim], decay: true)
        projB = p.declare(prefix + "attn.proj.bias", [dim], decay: false)
        norm2W = p.declare(prefix + "norm2.weight", [dim], decay: false)
        norm2B = p.declare(prefix + "norm2.bias", [dim], decay: false)
        fc1W = p.declare(prefix + "mlp.fc1.weight", [hidden, dim], decay: true)
        fc1B = p.declare(prefix + "mlp.fc1.bias", [hidden], decay: false)
        fc2W = p.declare(prefix + "mlp.fc2.weight", [dim, hidden], decay: true)
        fc2B = p.declare(prefix + "mlp.fc2.bias", [dim], decay: false)
    }
}

/// One Swin block: `x1 = x + dp(attn(norm1(x)))`, `out = x1 + dp(mlp(norm2(x1)))`, with the
/// (shifted) window partition folded into index maps. Saves what backward needs in buffers
/// planned for `maxBatch`.
final class SwinBlock {
    let geo: WindowGeometry
    let dim: Int, heads: Int, hidden: Int, maxBatch: Int
    let dropProb: Float
    let p: SwinBlockParams
    let store: ParameterStore
    let map: [Int32], mask: [Float], relIndex: [Int32]
    // Saved activations.
    let mean1, rstd1, xw, qkv, probs, attnOut, x1, mean2, rstd2, ln2, hid, act, bias, scale1, scale2: UnsafeMutablePointer<Float>
    var dropped = false
    var gemm = GemmThreading.rows

    init(store: ParameterStore, prefix: String, geo: WindowGeometry, dim: Int, heads: Int, hidden: Int,
         dropProb: Float, maxBatch: Int, plan: BufferPlan) {
        self.geo = geo; self.dim = dim; self.heads = heads; self.hidden = hidden
        self.dropProb = dropProb; self.maxBatch = maxBatch; self.store = store
        p = SwinBlockParams(store, prefix: prefix, dim: dim, heads: heads, hidden: hidden, tableRows: geo.tableRows)
        map = geo.tokenOfRow; mask = geo.mask; relIndex = geo.relativeIndex
        let rows = maxBatch * geo.tokens, wrows = maxBatch * geo.windowRows, n = geo.windowArea
        func buf(_ n: Int, _ key: String) -> UnsafeMutablePointer<Float> { plan.buffer(n, key: "block." + key) }
        mean1 = buf(rows, "mean1"); rstd1 = buf(rows, "rstd1")
        xw = buf(wrows * dim, "xw"); qkv = buf(wrows * 3 * dim, "qkv")
        probs = buf(maxBatch * geo.windowsPerSample * heads * n * n, "probs")
        attnOut = buf(wrows * dim, "attnOut"); x1 = buf(rows * dim, "x1")
        mean2 = buf(rows, "mean2"); rstd2 = buf(rows, "rstd2")
        ln2 = buf(rows * dim, "ln2"); hid = buf(rows * hidden, "hid"); act = buf(rows * hidden, "act")
        bias = buf(heads * n * n, "bias"); scale1 = buf(maxBatch, "scale1"); scale2 = buf(maxBatch, "scale2")
    }

    /// Scratch this block needs, in floats: (token or window rows, wide, qkv).
    static func scratchNeeds(geo: WindowGeometry, dim: Int, heads: Int, hidden: Int, batch: Int) -> (Int, Int, Int) {
        let rows = batch * geo.tokens, wrows = batch * geo.windowRows
        return (wrows * dim, rows * hidden, wrows * 3 * dim)
    }

    func attnShape(batch: Int) -> WindowAttentionShape {
        WindowAttentionShape(windows: batch * geo.windowsPerSample, windowsPerSample: geo.windowsPerSample,
                             tokens: geo.windowArea, heads: heads, headDim: dim / heads)
    }

    func forward(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: Int, training: Bool,
                 rng: inout Rng, scratch s: SwinScratch) {
        let rows = batch * geo.tokens, wrows = batch * geo.windowRows, v = { self.store.value($0) }
        LayerNorm.forward(out: s.a, mean: mean1, rstd: rstd1, inp: x, weight: v(p.norm1W), bias: v(p.norm1B), rows: rows, dim: dim)
        map.withUnsafeBufferPointer { m in
            WindowPartition.forward(out: xw, inp: s.a, map: m.baseAddress!, batch: batch, tokens: geo.tokens,
                                    rows: geo.windowRows, channels: dim)
        }
        Linear.forward(out: qkv, inp: xw, weight: v(p.qkvW), bias: v(p.qkvB), rows: wrows, inDim: dim, outDim: 3 * dim, threading: gemm)
        relIndex.withUnsafeBufferPointer { idx in
            WindowAttention.expandBias(bias: bias, table: v(p.table), index: idx.baseAddress!, heads: heads, tokens: geo.windowArea)
        }
        mask.withUnsafeBufferPointer { m in
            WindowAttention.forward(out: attnOut, probs: probs, qkv: qkv, bias: bias, mask: m.isEmpty ? nil : m.baseAddress,
                                    shape: attnShape(batch: batch))
        }
        Linear.forward(out: s.a, inp: attnOut, weight: v(p.projW), bias: v(p.projB), rows: wrows, inDim: dim, outDim: dim, threading: gemm)
        dropped = training && dropProb > 0
        if dropped {
            DropPath.draw(scale: scale1, batch: batch, prob: dropProb, rng: &rng)
            DropPath.draw(scale: scale2, batch: batch, prob: dropProb, rng: &rng)
        }
        map.withUnsafeBufferPointer { m in
            WindowPartition.residual(out: x1, x: x, branch: s.a, scale: dropped ? scale1 : nil, map: m.baseAddress!,
                                     batch: batch, tokens: geo.tokens, rows: geo.windowRows, channels: dim)
        }
        LayerNorm.forward(out: ln2, mean: mean2, rstd: rstd2, inp: x1, weight: v(p.norm2W), bias: v(p.norm2B), rows: rows, dim: dim)
        // fc1 + bias + GELU, tile by tile where the linear fuses.
        let (act, hid, hidden) = (self.act, self.hid, self.hidden)
        Linear.forward(out: hid, inp: ln2, weight: v(p.fc1W), bias: v(p.fc1B), rows: rows, inDim: dim, outDim: hidden, threading: gemm) { r in
            GELU.forwardSerial(out: act + r.lowerBound * hidden, inp: hid + r.lowerBound * hidden, count: r.count * hidden)
        }
        Linear.forward(out: s.a, inp: act, weight: v(p.fc2W), bias: v(p.fc2B), rows: rows, inDim: hidden, outDim: dim, threading: gemm)
        DropPath.residual(out: out, x: x1, branch: s.a, scale: dropped ? scale2 : nil, batch: batch, perSample: geo.tokens * dim)
    }

    /// `dstream` holds d(out) on entry and d(x) on return; `x` is the block input saved by the caller.
    func backward(dstream: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int, scratch s: SwinScratch) {
        let rows = batch * geo.tokens, wrows = batch * geo.windowRows
        let v = { self.store.value($0) }, g = { self.store.grad($0) }
        // MLP branch.
        // MLP branch (scratch gradients overwrite, the residual stream `dstream` accumulates).
        DropPath.branchBackward(dbranch: s.a, dout: dstream, scale: dropped ? scale2 : nil, batch: batch, perSample: geo.tokens * dim,
                                accumulate: false)
        Linear.backward(dinp: s.wide, dweight: g(p.fc2W), dbias: g(p.fc2B), dout: s.a, inp: act, weight: v(p.fc2W),
                        rows: rows, inDim: hidden, outDim: dim, accumulate: false, threading: gemm)
        // GELU backward (in place) fused into fc1's backward, tile by tile where the linear fuses.
        let (wide, hid, hidden) = (s.wide, self.hid, self.hidden)
        Linear.backward(dinp: s.b, dweight: g(p.fc1W), dbias: g(p.fc1B), dout: s.wide, inp: ln2, weight: v(p.fc1W),
                        rows: rows, inDim: dim, outDim: hidden, accumulate: false, threading: gemm) { r in
            let o = r.lowerBound * hidden
            GELU.backwardSerial(dinp: wide + o, inp: hid + o, dout: wide + o, count: r.count * hidden, accumulate: false)
        }
        LayerNorm.backward(dinp: dstream, dweight: g(p.norm2W), dbias: g(p.norm2B), dout: s.b, inp: x1, weight: v(p.norm2W),
                           mean: mean2, rstd: rstd2, rows: rows, dim: dim, accumulate: true)
        // Attention branch.
        map.withUnsafeBufferPointer { m in
            WindowPartition.residualBackward(dbranch: s.a, dout: dstream, scale: dropped ? scale1 : nil, map: m.baseAddress!,
                                             batch: batch, tokens: geo.tokens, rows: geo.windowRows, channels: dim, accumulate: false)
        }
        Linear.backward(dinp: s.b, dweight: g(p.projW), dbias: g(p.projB), dout: s.a, inp: attnOut, weight: v(p.projW),
                        rows: wrows, inDim: dim, outDim: dim, accumulate: false, threading: gemm)
        relIndex.withUnsafeBufferPointer { idx in
            WindowAttention.backward(dqkv: s.qkv, dtable: g(p.table), dout: s.b, probs: probs, qkv: qkv,
                                     index: idx.baseAddress!, shape: attnShape(batch: batch), accumulate: false)
        }
        Linear.backward(dinp: s.a, dweight: g(p.qkvW), dbias: g(p.qkvB), dout: s.qkv, inp: xw, weight: v(p.qkvW),
                        rows: wrows, inDim: dim, outDim: 3 * dim, accumulate: false, threading: gemm)
        map.withUnsafeBufferPointer { m in
            WindowPartition.backward(dinp: s.b, dout: s.a, map: m.baseAddress!, batch: batch, tokens: geo.tokens,
                                     rows: geo.windowRows, channels: dim, accumulate: false)
        }
        LayerNorm.backward(dinp: dstream, dweight: g(p.norm1W), dbias: g(p.norm1B), dout: s.b, inp: x, weight: v(p.norm1W),
                           mean: mean1, rstd: rstd1, rows: rows, dim: dim, accumulate: true)
    }
}
