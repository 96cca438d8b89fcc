#!/usr/bin/env python3
"""Checks an avtrain export against timm: the same log-mel input gives the same embedding.

    python Tests/interop/timm_check.py EXPORT_DIR SOUND_FILE [--avembed .build/release/avembed]

Loads EXPORT_DIR/encoder.safetensors into timm's SwinTransformer (built from encoder.json's
`timm` arguments: num_classes=D, in_chans=1) with strict=True, runs avembed on SOUND_FILE with
--save-inputs (the exact log-mel windows it fed its encoder), feeds those windows to timm, averages
the window outputs as avembed does and compares. Needs torch, timm, numpy, safetensors-free (the
weights are read with a few lines of numpy). Exit 0 and "OK" when the relative error is <= 1e-4.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def read_safetensors(path):
    """{name: np.ndarray} of a safetensors file (F32 only, as avtool export writes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"])
    return out


def load_timm(export_dir):
    """The export as a timm SwinTransformer, loaded with strict=True."""
    import torch
    import timm
    spec = json.load(open(os.path.join(export_dir, "encoder.json")))
    args = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec["timm"].items()}
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, **args)
    state = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(export_dir, "encoder.safetensors")).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # timm keeps relative_position_index / attn_mask as buffers, not parameters: only those may be missing.
    missing = [m for m in missing if not (m.endswith("relative_position_index") or m.endswith("attn_mask"))]
    assert not missing and not unexpected, (missing, unexpected)
    model.load_state_dict({**model.state_dict(), **state}, strict=True)
    return model.eval(), spec


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("export")
    p.add_argument("sound")
    p.add_argument("--avembed", default=".build/release/avembed")
    a = p.parse_args()
    import torch
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, emb = os.path.join(tmp, "inputs.npy"), os.path.join(tmp, "emb.json")
        subprocess.run([a.avembed, "--model", a.export, "--save-inputs", inputs, "--out", emb, a.sound], check=True)
        x = np.load(inputs)
        ours = np.array(json.load(open(emb))[0]["embedding"], dtype=np.float64)
    model, spec = load_timm(a.export)
    with torch.no_grad():
        theirs = model(torch.from_numpy(x).unsqueeze(1)).double().mean(0).numpy()
    err = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
    print(f"{len(x)} window(s) of {x.shape[1]}x{x.shape[2]}; D = {len(ours)}; relative error avembed vs timm = {err:.2e}")
    if err > 1e-4:
        print("MISMATCH")
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
