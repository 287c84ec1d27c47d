#!/usr/bin/env bash
# Quick start, part 1: set up, then run the main job on a small default
# (ResNet space, Gaussian-process oracle, 3 trials x 2 epochs on 10k/2k images: a few minutes on
# 2 cores; measured 87.2 % test accuracy, README's Quick start).
# Any flag of `python -m kerasnas.run` can be added, e.g. `scripts/run.sh --max-trials 6`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu,tpe
exec .venv/bin/python -m kerasnas.run --space resnet --oracle bayes --max-trials 3 --epochs 2 \
  --train-size 10000 --val-size 2000 --output-dir runs/quickstart --overwrite "$@"
