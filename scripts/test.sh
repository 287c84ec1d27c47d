#!/usr/bin/env bash
# Quick start, part 2: set up (with the test, tfds and compare extras), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu,tpe,tfds,compare,test
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests
