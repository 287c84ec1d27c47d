#!/usr/bin/env bash
# Quick start, part 1: set up, then the main job as a budgeted search: the ResNet space with the
# Gaussian-process oracle on 10k / 2k images, 3.5 minutes for the whole search (candidates judged
# by successive halving, the winner trained on for the time left; README's Quick start).
# Any flag of `python -m kerasnas.run` can be added, e.g. `scripts/run.sh --budget-minutes 10`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu,tpe
exec .venv/bin/python -m kerasnas.run --space resnet --oracle bayes --budget-minutes 3.5 \
  --train-size 10000 --val-size 2000 --output-dir runs/quickstart --overwrite "$@"
