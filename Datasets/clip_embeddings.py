#!/usr/bin/env python3
"""CLIP ViT-B/32 embeddings for avtrain datasets (run where PyTorch and open_clip are installed).

Two jobs:

  clips    CSV (audio, labels[, caption columns][, video]) -> text.npy [N, K, D] and image.npy [N, F, D]
           (float16, unit-norm), one row per CSV row, in CSV order; then `avtool data pack`.
  classes  class names -> class_embeddings.safetensors: `class_embedding` [C, D] float32 of
           "This is a sound of {class}." (`_` read as a space), metadata class_names / prompt / model;
           with --prompts, [C, P, D] (the spec's prompt first), averaged per class by avtool/avembed.

Text (K variants per clip): the CSV's caption columns (`caption`, `caption_1`, ...) when present,
cycled to K; otherwise K variants made from the labels, in the spirit of the paper's text
augmentations: prompt templates, synonym-like rewordings, label-order permutations and insertions.

Images (F frames per clip): F evenly spaced frames from `--frames-dir/<audio stem>/*.jpg|png`
(e.g. extracted with `ffmpeg -i clip.mp4 -vf fps=1 <stem>/%02d.jpg`), or extracted on the fly from
the CSV's `video` column with ffmpeg (`--extract-frames`).

Usage:
  python clip_embeddings.py clips --csv train.csv --frames-dir frames/ --out emb/ -K 5 -F 10
  python clip_embeddings.py classes --names classes.txt --out class_embeddings.safetensors
  python clip_embeddings.py classes --esc50 ESC-50-master --out esc50_classes.safetensors
  python clip_embeddings.py classes --us8k UrbanSound8K --out us8k_classes.safetensors
"""
import argparse
import csv
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import numpy as np

PROMPT = "This is a sound of {}."
MODEL, PRETRAINED = "ViT-B-32", "openai"

TEMPLATES = [
    "This is a sound of {}.",
    "the sound of {}",
    "a recording of {}",
    "{} can be heard",
    "audio of {}",
    "a clip with {}",
    "you can hear {} here",
    "{}",
]
INSERTIONS = ["loud", "distant", "close-up", "outdoor", "indoor", "faint", "clear"]


def readable(label):
    """Class names use `_` for spaces (ESC-50 style); prompts read them as spaces."""
    return label.replace("_", " ").strip()


def caption_variants(labels, k, rng):
    """K text variants for a clip from its labels: templates, permuted label orders, insertions."""
    names = [readable(l) for l in labels]
    out = []
    for i in range(k):
        order = names[:]
        if i > 0:
            rng.shuffle(order)
        phrase = " and ".join(order)
        if i >= len(TEMPLATES) or (i > 1 and rng.random() < 0.3):
            phrase = rng.choice(INSERTIONS) + " " + phrase
        out.append(TEMPLATES[i % len(TEMPLATES)].format(phrase))
    return out


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (float32 only), sorted keys, header padded to 8 bytes."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Clip:
    """Lazily loaded open_clip model (so that the helpers above work without PyTorch)."""

    def __init__(self, device):
        import torch
        import open_clip
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(MODEL, pretrained=PRETRAINED)
        self.model = self.model.to(self.device).eval()
        self.tokenizer = open_clip.get_tokenizer(MODEL)

    def text(self, strings):
        with self.torch.no_grad():
            e = self.model.encode_text(self.tokenizer(strings).to(self.device)).float()
            return (e / e.norm(dim=-1, keepdim=True)).cpu().numpy()

    def images(self, paths):
        from PIL import Image
        with self.torch.no_grad():
            x = self.torch.stack([self.preprocess(Image.open(p).convert("RGB")) for p in paths]).to(self.device)
            e = self.model.encode_image(x).float()
            return (e / e.norm(dim=-1, keepdim=True)).cpu().numpy()


def pick(items, n):
    """n evenly spaced items (repeating when there are fewer)."""
    if not items:
        return []
    return [items[min(len(items) - 1, int((i + 0.5) * len(items) / n))] for i in range(n)]


def frames_for(row, stem, args, tmp):
    if args.extract_frames:
        video = row.get("video")
        if not video:
            raise SystemExit(f"--extract-frames needs a 'video' column (row for {stem})")
        out = os.path.join(tmp, stem)
        os.makedirs(out, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", video, "-vf", f"fps={args.fps}",
                        os.path.join(out, "%03d.jpg")], check=True)
        folder = out
    else:
        folder = os.path.join(args.frames_dir, stem)
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png"))) if os.path.isdir(folder) else []
    if not files:
        raise SystemExit(f"no frames for clip '{stem}' in {folder}")
    return [os.path.join(folder, f) for f in pick(files, args.F)]


def cmd_clips(args):
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{args.csv}: no rows")
    cols = {c.lower(): c for c in rows[0]}
    audio_col = next((cols[c] for c in ("audio", "path", "filename", "file") if c in cols), None)
    label_col = next((cols[c] for c in ("labels", "label", "class", "category") if c in cols), None)
    if audio_col is None or label_col is None:
        raise SystemExit(f"{args.csv}: need an audio and a labels column, found {list(rows[0])}")
    caption_cols = [c for c in rows[0] if c.lower().startswith("caption")]
    os.makedirs(args.out, exist_ok=True)
    clip = Clip(args.device)
    d = clip.text(["probe"]).shape[1]
    n = len(rows)
    text = np.lib.format.open_memmap(os.path.join(args.out, "text.npy"), mode="w+", dtype="<f2", shape=(n, args.K, d))
    image = np.lib.format.open_memmap(os.path.join(args.out, "image.npy"), mode="w+", dtype="<f2", shape=(n, args.F, d))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, n, args.batch):
            batch = rows[start:start + args.batch]
            strings, frames = [], []
            for r in batch:
                caps = [r[c] for c in caption_cols if r[c].strip()]
                labels = [l.strip() for l in r[label_col].split(";") if l.strip()]
                caps = [caps[i % len(caps)] for i in range(args.K)] if caps else caption_variants(labels, args.K, rng)
                strings += caps
                stem = os.path.splitext(os.path.basename(r[audio_col]))[0]
                frames += frames_for(r, stem, args, tmp)
            text[start:start + len(batch)] = clip.text(strings).reshape(len(batch), args.K, d).astype("<f2")
            image[start:start + len(batch)] = clip.images(frames).reshape(len(batch), args.F, d).astype("<f2")
            print(f"\r{start + len(batch)}/{n} clips", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    text.flush()
    image.flush()
    print(f"wrote {args.out}/text.npy [{n}, {args.K}, {d}] and {args.out}/image.npy [{n}, {args.F}, {d}] (float16)")


def class_names(args):
    if args.names:
        with open(args.names) as f:
            return [l.strip() for l in f if l.strip()]
    if args.esc50:
        with open(os.path.join(args.esc50, "meta", "esc50.csv"), newline="") as f:
            pairs = {int(r["target"]): r["category"] for r in csv.DictReader(f)}
    elif args.us8k:
        with open(os.path.join(args.us8k, "metadata", "UrbanSound8K.csv"), newline="") as f:
            pairs = {int(r["classID"]): r["class"] for r in csv.DictReader(f)}
    else:
        raise SystemExit("give --names, --esc50 or --us8k")
    return [pairs[i] for i in sorted(pairs)]


def cmd_classes(args):
    names = class_names(args)
    prompts = [PROMPT] + [t.strip() for t in (args.prompts or [])]
    for t in prompts:
        if "{}" not in t:
            raise SystemExit(f"prompt {t!r} has no {{}} for the class name")
    clip = Clip(args.device)
    # [C, P, D]: avtool/avembed average the P prompt embeddings of a class (then normalise).
    emb = np.stack([clip.text([t.format(readable(c)) for c in names]) for t in prompts], axis=1)
    if len(prompts) == 1:
        emb = emb[:, 0]
    write_safetensors(args.out, {"class_embedding": emb},
                      {"class_names": json.dumps(names), "prompt": " | ".join(p.replace("{}", "{class}") for p in prompts),
                       "embedding_model": f"{MODEL}/{PRETRAINED}"})
    print(f"wrote {args.out}: class_embedding {list(emb.shape)}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clips", help="text.npy and image.npy for a packing CSV")
    c.add_argument("--csv", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("-K", type=int, default=5, help="caption variants per clip")
    c.add_argument("-F", type=int, default=10, help="frames per clip")
    c.add_argument("--frames-dir", default="frames")
    c.add_argument("--extract-frames", action="store_true", help="extract frames from the CSV's video column with ffmpeg")
    c.add_argument("--fps", type=float, default=1.0)
    c.add_argument("--batch", type=int, default=64)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default=None)
    k = sub.add_parser("classes", help="class_embeddings.safetensors for zero-shot evaluation")
    g = k.add_mutually_exclusive_group(required=True)
    g.add_argument("--names", help="file with one class name per line")
    g.add_argument("--esc50", help="ESC-50-master folder")
    g.add_argument("--us8k", help="UrbanSound8K folder")
    k.add_argument("--out", required=True)
    k.add_argument("--prompts", nargs="*", help="more templates with {} for the class, e.g. 'a sound of a {}.'; "
                                                "stored as [C, P, D] and averaged per class at evaluation")
    k.add_argument("--device", default=None)
    args = p.parse_args()
    {"clips": cmd_clips, "classes": cmd_classes}[args.cmd](args)


if __name__ == "__main__":
    main()
