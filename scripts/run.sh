#!/usr/bin/env bash
# Quick start, part 1: set up, then run the main job on a small default
# (ResNet space, Gaussian-process oracle, 3 trials x 1 epoch on 5k/2k images: minutes on 2 cores).
# Any flag of `python -m kerasnas.run` can be added, e.g. `scripts/run.sh --max-trials 6`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu,tpe
exec .venv/bin/python -m kerasnas.run --space resnet --oracle bayes --max-trials 3 --epochs 1 \
  --train-size 5000 --val-size 2000 --output-dir runs/quickstart --overwrite "$@"
