#!/usr/bin/env python3
"""Checks `avtool eval probe` against scikit-learn on the same embeddings.

    avtool eval probe ... --cache emb.safetensors --out probe.json
    python Tests/interop/probe_check.py emb.safetensors probe.json

Reads the cached embeddings, labels and folds, L2-normalises the embeddings (as the probe does),
fits sklearn's LogisticRegression(C=C from probe.json, lbfgs, multinomial, max_iter=10000) on all
folds but one and tests on the held-out fold, and compares per-fold and mean accuracy with
avtool's. Exit 0 and "OK" when the mean differs by at most 1 point.
"""
import json
import struct
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {"F32": "<f4", "I64": "<i8"}
    out = {}
    for k, e in header.items():
        if k != "__metadata__":
            a, b = e["data_offsets"]
            out[k] = np.frombuffer(data[a:b], dtype=types[e["dtype"]]).reshape(e["shape"])
    return out


def main():
    t = read(sys.argv[1])
    ours = json.load(open(sys.argv[2]))
    x = t["embeddings"].astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y, folds = t["labels"], t["folds"]
    accs = {}
    for f in sorted(set(folds.tolist())):
        tr, te = folds != f, folds == f
        clf = LogisticRegression(C=ours["c"], max_iter=10000).fit(x[tr], y[tr])
        accs[f] = float((clf.predict(x[te]) == y[te]).mean())
        print(f"fold {f}: sklearn {100 * accs[f]:.2f} %, avtool {100 * ours['per_fold'][str(f)]:.2f} %")
    mean = float(np.mean(list(accs.values())))
    print(f"mean: sklearn {100 * mean:.2f} %, avtool {100 * ours['mean']:.2f} % (difference {100 * abs(mean - ours['mean']):.2f} points)")
    if abs(mean - ours["mean"]) > 0.01:
        print("MISMATCH")
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
