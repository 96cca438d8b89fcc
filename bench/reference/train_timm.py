#!/usr/bin/env python3
"""PyTorch/timm reference for `avtool bench train --compare`: the same training step in one process.

    python bench/reference/train_timm.py --preset swin-t --batch 16 --threads 2 --steps 4 --image 256

One step = timm SwinTransformer (in_chans 1, num_classes 512) forward over the batch and its
SpecAugment-like view (2B rows), the four-term objective (audio-text, audio-image, audio-audio
InfoNCE with a learnable logit scale, weak KD as a temperature-scaled KL), backward and AdamW.
Inputs and CLIP targets are random tensors (avtrain's side also decodes shards and computes
log-mel on loader threads). Prints steady samples/s (after 2 warm-up steps) and peak RSS, last as JSON.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn.functional as F
import timm

PRESETS = {
    "tiny": dict(embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=4),
    "swin-t": dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=8),
    "swin-s": dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24), window_size=8),
    "swin-b": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=8),
}


def info_nce(a, b, scale):
    logits = scale * a @ b.t()
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="swin-t")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--image", type=int, default=256)
    p.add_argument("--dim", type=int, default=512)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = dict(PRESETS[a.preset])
    if a.image < 256 and a.preset != "tiny":
        cfg["window_size"] = 4
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, img_size=(a.image, a.image), in_chans=1,
                              num_classes=a.dim, drop_path_rate=0.0, **cfg)
    scale = torch.nn.Parameter(torch.tensor(2.659))
    opt = torch.optim.AdamW(list(model.parameters()) + [scale], lr=1e-4, weight_decay=0.05)
    b = a.batch
    x = torch.randn(2 * b, 1, a.image, a.image)
    t = F.normalize(torch.randn(b, a.dim), dim=-1)
    v = F.normalize(torch.randn(b, a.dim), dim=-1)
    w = F.normalize(torch.randn(b, a.dim), dim=-1)

    def step():
        opt.zero_grad(set_to_none=True)
        out = F.normalize(model(x), dim=-1)
        au, aug = out[:b], out[b:]
        s = scale.exp().clamp(max=100)
        loss = info_nce(au, t, s) + info_nce(au, v, s) + 0.5 * info_nce(au, aug, s)
        tau = 0.1
        kd = F.kl_div(F.log_softmax(au @ w.t() / tau, -1), F.softmax(t @ w.t() / tau, -1), reduction="batchmean")
        loss = loss + 0.5 * tau * tau * kd
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"PyTorch {torch.__version__}, timm {timm.__version__}, {a.preset} {a.image}², batch {b}, {a.threads} threads: "
          f"{dt:.3f} s/step, {b / dt:.2f} samples/s, peak RSS {rss:.0f} MB")
    print(json.dumps({"samples_per_s": b / dt, "step_s": dt, "peak_rss_mb": rss}))


if __name__ == "__main__":
    main()
