#!/usr/bin/env python3
"""PyTorch/timm reference for `avtool bench swin --compare`: the same encoder training step.

    python bench/reference/swin_timm.py --embed-dim 96 --depths 2 2 6 2 --heads 3 6 12 24 --window 8 \
        --drop-path 0.1 --image 256 256 --embedding 512 --batch 8 --threads 2 --steps 3

`avtool bench swin --compare` passes its model's exact geometry. One step = timm SwinTransformer
(in_chans 1, num_classes = the embedding size, the given patch, window and drop path)
forward on a [batch, 1, H, W] input, backward of L = sum(out * r) with a fixed random r, and the
gradients zeroed — exactly what `avtool bench swin` times (no optimiser, no data). Prints the best
step time of `--steps` timed steps after 2 warm-up steps, then one JSON line.
"""
import argparse
import json
import resource
import time

import torch
import timm

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--embed-dim", type=int, default=96)
    p.add_argument("--depths", type=int, nargs="+", default=[2, 2, 6, 2])
    p.add_argument("--heads", type=int, nargs="+", default=[3, 6, 12, 24])
    p.add_argument("--drop-path", type=float, default=0.1)
    p.add_argument("--patch", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--image", type=int, nargs=2, default=[256, 256])
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--embedding", type=int, default=512)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = timm.models.swin_transformer.SwinTransformer(
        img_size=tuple(a.image), patch_size=a.patch, in_chans=1, num_classes=a.embedding, embed_dim=a.embed_dim,
        depths=tuple(a.depths), num_heads=tuple(a.heads), window_size=a.window, drop_path_rate=a.drop_path)
    model.train()
    x = torch.randn(a.batch, 1, *a.image)
    r = torch.randn(a.batch, a.embedding)

    def step():
        model.zero_grad(set_to_none=False)
        (model(x) * r).sum().backward()

    for _ in range(2):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    best = min(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"timm Swin dim {a.embed_dim} depths {a.depths} {a.image[0]}x{a.image[1]} batch {a.batch}, {a.threads} thread(s): best step {best:.3f} s, "
          f"{a.batch / best:.2f} samples/s, peak RSS {rss:.0f} MB (torch {torch.__version__}, timm {timm.__version__})")
    print(json.dumps({"step_s": best, "samples_per_s": a.batch / best, "peak_rss_mb": rss, "threads": a.threads}))


if __name__ == "__main__":
    main()
