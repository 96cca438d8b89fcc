#!/usr/bin/env python3
"""PyTorch/timm reference for `avtool bench embed --compare`: the same exported encoder, timed the
same way. Prints a human table and, last, one JSON line that avtool reads.

    python bench/reference/embed_timm.py --model EXPORT_DIR [--batch 16] [--threads 2] [--repeats 3]

- cold start: a fresh `python3` process that imports torch + timm, loads the export and embeds one
  input (wall time from spawn to exit, best of --repeats), and its peak RSS (wait4);
- per clip: forward passes on log-mel-shaped inputs at batch 1 and --batch, in-process after a
  warm-up, best of --repeats. (avembed's per-clip figure also includes decoding and the log-mel,
  about 1 ms of a 10 s clip, which this side leaves out.)
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "interop"))


def cold(model_dir, threads):
    import torch
    torch.set_num_threads(threads)
    from timm_check import load_timm
    model, spec = load_timm(model_dir)
    h, w = spec["timm"]["img_size"]
    with torch.no_grad():
        model(torch.randn(1, 1, h, w))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.cold:
        cold(a.model, a.threads)
        return
    best_cold, rss = float("inf"), 0
    for _ in range(a.repeats):
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--cold", "--model", a.model, "--threads", str(a.threads)])
        _, status, usage = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t
        assert status == 0, "cold-start run failed"
        best_cold, rss = min(best_cold, dt), max(rss, usage.ru_maxrss)
    import torch
    torch.set_num_threads(a.threads)
    from timm_check import load_timm
    model, spec = load_timm(a.model)
    h, w = spec["timm"]["img_size"]

    def per_clip(b):
        x = torch.randn(b, 1, h, w)
        with torch.no_grad():
            model(x)
            best = float("inf")
            for _ in range(a.repeats):
                reps = max(1, a.batch // b)
                t = time.perf_counter()
                for _ in range(reps):
                    model(x)
                best = min(best, (time.perf_counter() - t) / (reps * b))
        return best

    b1, bn = per_clip(1), per_clip(a.batch)
    print(f"PyTorch {torch.__version__}, timm, {a.threads} thread(s): cold start {best_cold:.3f} s, "
          f"per clip {1000 * b1:.1f} ms (batch 1), {1000 * bn:.1f} ms (batch {a.batch}), peak RSS {rss / 1024:.0f} MB")
    print(json.dumps({"cold_start_s": best_cold, "per_clip_batch1_s": b1, "per_clip_batchN_s": bn, "peak_rss_mb": rss / 1024}))


if __name__ == "__main__":
    main()
