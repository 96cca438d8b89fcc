#!/usr/bin/env bash
# The whole demo workflow on the built-in data, in a few minutes on 2 cores:
# train (with zero-shot evaluation on the eval split) → export the encoder → avembed --classify.
# Usage: Launch/demo.sh [extra avtrain arguments, e.g. --set train.epochs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
[ -x $bin/avtrain ] || swift build -c release
$bin/avtrain --config Launch/demo.toml "$@"
$bin/avtool export --checkpoint Checkpoints/demo --out Checkpoints/demo/encoder \
  --classes Datasets/data/demo/class_embeddings.safetensors
echo "avembed on demo clips it never trained on (true class = file name):"
$bin/avembed --model Checkpoints/demo/encoder --classify Checkpoints/demo/encoder/classes.safetensors --top 3 \
  Datasets/data/demo/examples/siren.wav Datasets/data/demo/examples/rain_drops.wav Datasets/data/demo/examples/clicks.wav
