import AVTensor

/// The Swin Transformer audio encoder (timm 1.0 `SwinTransformer` with `global_pool='avg'`):
/// patch embedding (conv p×p stride p + LayerNorm), stages of (shifted-)window attention blocks
/// with patch merging at the start of every stage after the first, final LayerNorm, mean over
/// tokens, and `head.fc` to `config.embeddingSize`.
///
/// Usage: build once for a maximum batch (every activation buffer is planned then), then per step
/// `forward` → `backward`. Parameters and gradients live in `params` under timm's state_dict
/// names; `backward` *accumulates* into `params.grads` (zero them per step with
/// `params.zeroGrads()`). A smaller batch than planned may be used (e.g. for evaluation); the
/// batch given to `forward` is the one `backward` uses. Input is [B, inChannels, H, W] with
/// H×W = `config.imageSize`; tokens are kept NHWC throughout.
public final class SwinEncoder {
    public let config: SwinConfig
    /// The planned (maximum) batch.
    public let maxBatch: Int
    public let params = ParameterStore()
    /// All activation and scratch buffers (for memory reports).
    public let plan: BufferPlan
    /// Built without a backward pass (inference, EMA teacher): layers share their buffers.
    public let forwardOnly: Bool

    struct Merge {
        let normW, normB, reduction: ParameterView
        let merged, normed, mean, rstd: UnsafeMutablePointer<Float>
    }

    struct Stage {
        let height: Int, width: Int, dim: Int
        let merge: Merge?
        /// streams[j] is the input of block j; streams[depth] the stage output.
        let streams: [UnsafeMutablePointer<Float>]
        let blocks: [SwinBlock]
        var tokens: Int { height * width }
    }

    let stages: [Stage]
    let projW, projB, peNormW, peNormB, normW, normB, headW, headB: ParameterView
    let patches, embedded, peMean, peRstd, normed, normMean, normRstd, pooled, output: UnsafeMutablePointer<Float>
    let scratch: SwinScratch
    let dstreamA, dstreamB, dpooled, dpatches: UnsafeMutablePointer<Float>
    let gridH: Int, gridW: Int, patchLen: Int
    var batch = 0
    var training = false

    /// Called during `backward` with a flat offset each time every parameter gradient at that
    /// offset and above is final (parameters are laid out in forward order, so backward finishes
    /// them from the end down): after the head, the final norm, each block, each patch merging,
    /// and 0 at the end. Lets the gradient all-reduce start while backward goes on.
    public var onGradientsReady: ((Int) -> Void)?

    /// How the token-wide GEMMs are threaded (default `.rows`, faster on 2 threads); see `GemmThreading`.
    public var gemmThreading: GemmThreading = .rows {
        didSet { for st in stages { for b in st.blocks { b.gemm = gemmThreading } } }
    }
    var gemm: GemmThreading { gemmThreading }

    /// Runs `body` with OpenBLAS single-threaded when our threads split the GEMMs.
    func withGemmThreading<R>(_ body: () -> R) -> R {
        gemmThreading == .rows ? BLAS.singleThreaded(body) : body()
    }

    /// Builds the model for `batch` samples of `config.imageSize`; throws on sizes the windows or
    /// patch merging cannot tile. A `forwardOnly` model (no `backward`; for inference or an EMA
    /// teacher) lets all layers share their buffers, so it needs roughly one layer's activations.
    /// `initialize: false` leaves the parameters zero (for callers that load weights next).
    public init(config: SwinConfig, batch: Int, forwardOnly: Bool = false, initialize: Bool = true) throws {
        self.config = config
        self.forwardOnly = forwardOnly
        plan = BufferPlan(shareAcrossLayers: forwardOnly)
        maxBatch = batch
        let c = config
        guard c.imageSize.count == 2, c.depths.count == c.numHeads.count, !c.depths.isEmpty, batch > 0 else {
            throw SwinError("invalid Swin config: imageSize \(c.imageSize), depths \(c.depths), heads \(c.numHeads), batch \(batch)")
        }
        guard c.imageSize[0] % c.patchSize == 0, c.imageSize[1] % c.patchSize == 0 else {
            throw SwinError("input \(c.imageSize[0])×\(c.imageSize[1]) is not a multiple of the patch size \(c.patchSize)")
        }
        gridH = c.imageSize[0] / c.patchSize; gridW = c.imageSize[1] / c.patchSize
        patchLen = c.inChannels * c.patchSize * c.patchSize
        let p = params
        projW = p.declare("patch_embed.proj.weight", [c.embedDim, c.inChannels, c.patchSize, c.patchSize], decay: true)
        projB = p.declare("patch_embed.proj.bias", [c.embedDim], decay: false)
        peNormW = p.declare("patch_embed.norm.weight", [c.embedDim], decay: false)
        peNormB = p.declare("patch_embed.norm.bias", [c.embedDim], decay: false)
        let rows0 = batch * gridH * gridW
        patches = plan.buffer(rows0 * patchLen, key: "patches"); embedded = plan.buffer(rows0 * c.embedDim, key: "embedded")
        peMean = plan.buffer(rows0, key: "peMean"); peRstd = plan.buffer(rows0, key: "peRstd")

        let total = c.depths.reduce(0, +)
        let rates = (0..<total).map { total > 1 ? c.dropPathRate * Float($0) / Float(total - 1) : 0 }
        var built: [Stage] = []
        var (h, w) = (gridH, gridW)
        var need = (0, 0, 0), blockIndex = 0
        for s in 0..<c.depths.count {
            let dim = c.stageDim(s), prefix = "layers.\(s)."
            var merge: Merge?
            if s > 0 {
                guard h % 2 == 0, w % 2 == 0 else {
                    throw SwinError("stage \(s) patch merging needs an even resolution, got \(h)×\(w) (input \(c.imageSize))")
                }
                let inDim = c.stageDim(s - 1)
                h /= 2; w /= 2
                let rows = batch * h * w
                merge = Merge(normW: p.declare(prefix + "downsample.norm.weight", [4 * inDim], decay: false),
                              normB: p.declare(prefix + "downsample.norm.bias", [4 * inDim], decay: false),
                              reduction: p.declare(prefix + "downsample.reduction.weight", [dim, 4 * inDim], decay: true),
                              merged: plan.buffer(rows * 4 * inDim, key: "merged"), normed: plan.buffer(rows * 4 * inDim, key: "mergedNorm"),
                              mean: plan.buffer(rows, key: "mergedMean"), rstd: plan.buffer(rows, key: "mergedRstd"))
            }
            guard dim % c.numHeads[s] == 0 else { throw SwinError("stage \(s): dim \(dim) not divisible by \(c.numHeads[s]) heads") }
            let hidden = Int(Float(dim) * c.mlpRatio)
            var blocks: [SwinBlock] = []
            var streams = [plan.buffer(batch * h * w * dim, key: "stream0")]
            for j in 0..<c.depths[s] {
                let geo = try WindowGeometry(height: h, width: w, window: c.windowSize, shift: j % 2 == 1 ? c.windowSize / 2 : 0)
                blocks.append(SwinBlock(store: p, prefix: prefix + "blocks.\(j).", geo: geo, dim: dim, heads: c.numHeads[s],
                                        hidden: hidden, dropProb: rates[blockIndex], maxBatch: batch, plan: plan))
                streams.append(plan.buffer(batch * h * w * dim, key: "stream\((j + 1) % 2)"))
                let n = SwinBlock.scratchNeeds(geo: geo, dim: dim, heads: c.numHeads[s], hidden: hidden, batch: batch)
                need = (max(need.0, n.0), max(need.1, n.1), max(need.2, n.2))
                blockIndex += 1
            }
            if s > 0 { need.1 = max(need.1, batch * h * w * 4 * c.stageDim(s - 1)) }  // merged-row gradient
            built.append(Stage(height: h, width: w, dim: dim, merge: merge, streams: streams, blocks: blocks))
        }
        stages = built
        let fd = c.finalDim, rowsF = batch * h * w
        normW = p.declare("norm.weight", [fd], decay: false)
        normB = p.declare("norm.bias", [fd], decay: false)
        headW = p.declare("head.fc.weight", [c.embeddingSize, fd], decay: true)
        headB = p.declare("head.fc.bias", [c.embeddingSize], decay: false)
        p.allocate(gradients: !forwardOnly)
        normed = plan.buffer(rowsF * fd, key: "normed"); normMean = plan.buffer(rowsF, key: "normMean")
        normRstd = plan.buffer(rowsF, key: "normRstd")
        pooled = plan.buffer(batch * fd, key: "pooled"); output = plan.buffer(batch * c.embeddingSize, key: "output")
        need.0 = max(need.0, rows0 * c.embedDim)
        need.1 = max(need.1, rows0 * c.embedDim)
        // Backward-only scratch is a single float in forward-only models.
        let plan = self.plan
        func scratchBuffer(_ n: Int, _ key: String, backwardOnly: Bool = true) -> UnsafeMutablePointer<Float> {
            plan.buffer(forwardOnly && backwardOnly ? 1 : n, key: key, saved: false)
        }
        scratch = SwinScratch(a: scratchBuffer(need.0, "scratch.a", backwardOnly: false), b: scratchBuffer(need.0, "scratch.b"),
                              wide: scratchBuffer(need.1, "scratch.wide"), qkv: scratchBuffer(need.2, "scratch.qkv"))
        dstreamA = scratchBuffer(need.0, "dstreamA"); dstreamB = scratchBuffer(need.0, "dstreamB")
        dpooled = scratchBuffer(batch * fd, "dpooled")
        dpatches = scratchBuffer(rows0 * patchLen, "dpatches")
        if initialize { self.initialize(seed: 0) }
    }

    /// Floats of one input sample.
    public var inputCount: Int { config.inChannels * config.imageSize[0] * config.imageSize[1] }

    /// Runs the encoder on `batch` (≤ `maxBatch`, default all) samples; returns [batch, embeddingSize],
    /// valid until the next call. In training, drop path draws from `rng`.
    @discardableResult
    public func forward(input: UnsafePointer<Float>, batch: Int? = nil, training: Bool, rng: inout Rng) -> UnsafePointer<Float> {
        withGemmThreading { forwardPass(input: input, batch: batch, training: training, rng: &rng) }
    }

    func forwardPass(input: UnsafePointer<Float>, batch: Int?, training: Bool, rng: inout Rng) -> UnsafePointer<Float> {
        let b = batch ?? maxBatch
        precondition(b > 0 && b <= maxBatch, "batch \(b) exceeds the planned batch \(maxBatch)")
        self.batch = b; self.training = training
        let c = config, v = { self.params.value($0) }
        let rows0 = b * gridH * gridW
        PatchEmbed.forward(out: patches, inp: input, batch: b, channels: c.inChannels, height: c.imageSize[0],
                           width: c.imageSize[1], patch: c.patchSize)
        Linear.forward(out: embedded, inp: patches, weight: v(projW), bias: v(projB), rows: rows0, inDim: patchLen, outDim: c.embedDim,
                       threading: gemm)
        LayerNorm.forward(out: stages[0].streams[0], mean: peMean, rstd: peRstd, inp: embedded, weight: v(peNormW),
                          bias: v(peNormB), rows: rows0, dim: c.embedDim)
        for (s, st) in stages.enumerated() {
            if let m = st.merge {
                let prev = stages[s - 1], rows = b * st.tokens
                PatchMerging.forward(out: m.merged, inp: prev.streams.last!, batch: b, height: prev.height, width: prev.width,
                                     channels: prev.dim)
                LayerNorm.forward(out: m.normed, mean: m.mean, rstd: m.rstd, inp: m.merged, weight: v(m.normW), bias: v(m.normB),
                                  rows: rows, dim: 4 * prev.dim)
                Linear.forward(out: st.streams[0], inp: m.normed, weight: v(m.reduction), bias: nil, rows: rows,
                               inDim: 4 * prev.dim, outDim: st.dim, threading: gemm)
            }
            for (j, blk) in st.blocks.enumerated() {
                blk.forward(x: st.streams[j], out: st.streams[j + 1], batch: b, training: training, rng: &rng, scratch: scratch)
            }
        }
        let last = stages.last!, fd = last.dim
        LayerNorm.forward(out: normed, mean: normMean, rstd: normRstd, inp: last.streams.last!, weight: v(normW), bias: v(normB),
                          rows: b * last.tokens, dim: fd)
        MeanPool.forward(out: pooled, inp: normed, batch: b, tokens: last.tokens, channels: fd)
        Linear.forward(out: output, inp: pooled, weight: v(headW), bias: v(headB), rows: b, inDim: fd, outDim: c.embeddingSize)
        return UnsafePointer(output)
    }

    /// Backward of the last `forward` for `dout` [batch, embeddingSize]: accumulates parameter
    /// gradients into `params.grads` and, if `dinput` is given, writes (overwrites) the input gradient.
    public func backward(dout: UnsafePointer<Float>, dinput: UnsafeMutablePointer<Float>? = nil) {
        withGemmThreading { backwardPass(dout: dout, dinput: dinput) }
    }

    func backwardPass(dout: UnsafePointer<Float>, dinput: UnsafeMutablePointer<Float>?) {
        let b = batch, c = config, v = { self.params.value($0) }, g = { self.params.grad($0) }
        precondition(!forwardOnly, "backward on a forward-only SwinEncoder")
        precondition(b > 0, "backward before forward")
        let last = stages.last!, fd = last.dim
        Linear.backward(dinp: dpooled, dweight: g(headW), dbias: g(headB), dout: dout, inp: pooled, weight: v(headW),
                        rows: b, inDim: fd, outDim: c.embeddingSize, accumulate: false, threading: gemm)
        onGradientsReady?(headW.offset)
        let rowsF = b * last.tokens
        MeanPool.backward(dinp: scratch.a, dout: dpooled, batch: b, tokens: last.tokens, channels: fd, accumulate: false)
        var dR = dstreamA, spare = dstreamB
        LayerNorm.backward(dinp: dR, dweight: g(normW), dbias: g(normB), dout: scratch.a, inp: last.streams.last!,
                           weight: v(normW), mean: normMean, rstd: normRstd, rows: rowsF, dim: fd, accumulate: false)
        onGradientsReady?(normW.offset)
        for s in stride(from: stages.count - 1, through: 0, by: -1) {
            let st = stages[s]
            for j in stride(from: st.blocks.count - 1, through: 0, by: -1) {
                st.blocks[j].backward(dstream: dR, x: st.streams[j], batch: b, scratch: scratch)
                onGradientsReady?(st.blocks[j].p.firstOffset)
            }
            if let m = st.merge {
                let prev = stages[s - 1], rows = b * st.tokens, inDim = 4 * prev.dim
                Linear.backward(dinp: spare, dweight: g(m.reduction), dbias: nil, dout: dR, inp: m.normed, weight: v(m.reduction),
                                rows: rows, inDim: inDim, outDim: st.dim, accumulate: false, threading: gemm)
                LayerNorm.backward(dinp: scratch.wide, dweight: g(m.normW), dbias: g(m.normB), dout: spare, inp: m.merged,
                                   weight: v(m.normW), mean: m.mean, rstd: m.rstd, rows: rows, dim: inDim, accumulate: false)
                PatchMerging.backward(dinp: spare, dout: scratch.wide, batch: b, height: prev.height, width: prev.width,
                                      channels: prev.dim, accumulate: false)
                swap(&dR, &spare)
                onGradientsReady?(m.normW.offset)
            }
        }
        let rows0 = b * gridH * gridW
        LayerNorm.backward(dinp: scratch.wide, dweight: g(peNormW), dbias: g(peNormB), dout: dR, inp: embedded,
                           weight: v(peNormW), mean: peMean, rstd: peRstd, rows: rows0, dim: c.embedDim, accumulate: false)
        Linear.backward(dinp: dinput == nil ? nil : dpatches, dweight: g(projW), dbias: g(projB), dout: scratch.wide,
                        inp: patches, weight: v(projW), rows: rows0, inDim: patchLen, outDim: c.embedDim, accumulate: false,
                        threading: gemm)
        onGradientsReady?(0)
        if let dinput {
            PatchEmbed.backward(dinp: dinput, dout: dpatches, batch: b, channels: c.inChannels, height: c.imageSize[0],
                                width: c.imageSize[1], patch: c.patchSize, accumulate: false)
        }
    }

    /// Activation + scratch bytes per sample of the planned batch (parameters not included).
    public var activationBytesPerSample: Int { plan.bytes / maxBatch }

    /// The final-norm output [batch, H, W, C] (NHWC) of the last forward, for inspection.
    public var finalNormOutput: UnsafePointer<Float> { UnsafePointer(normed) }

    /// Output [batch, H, W, C] of stage `i` (after its last block), or of the patch embedding for
    /// `i = -1` (in a forward-only model, later layers overwrite these).
    public func stageOutput(_ i: Int) -> UnsafePointer<Float> {
        UnsafePointer(i < 0 ? stages[0].streams[0] : stages[i].streams.last!)
    }
}

extension SwinConfig {
    /// Matmul FLOPs of one forward pass for one sample (patch conv, linears, attention products);
    /// a training step (forward + backward) is 3× this, as PyTorch's FlopCounter counts.
    public var forwardMatmulFlops: Double {
        var (h, w) = (imageSize[0] / patchSize, imageSize[1] / patchSize)
        var f = 2.0 * Double(h * w) * Double(inChannels * patchSize * patchSize * embedDim)
        for s in 0..<depths.count {
            let c = Double(stageDim(s))
            if s > 0 { h /= 2; w /= 2; f += 2 * Double(h * w) * 4 * Double(stageDim(s - 1)) * c }
            let (wh, ww) = (min(h, windowSize), min(w, windowSize))
            let t = Double(h * w), n = Double(wh * ww)
            let tp = Double((h + wh - 1) / wh * wh * ((w + ww - 1) / ww * ww))  // window rows incl. padding
            let hidden = Double(Int(c * Double(mlpRatio)))
            f += Double(depths[s]) * (2 * tp * 4 * c * c + 2 * t * 2 * c * hidden + 4 * tp * n * c)
        }
        return f + 2 * Double(finalDim * embeddingSize)
    }
}
