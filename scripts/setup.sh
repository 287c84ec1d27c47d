#!/usr/bin/env bash
# Idempotent set-up: a virtualenv in .venv with kerasnas and the extras asked for
# (e.g. `scripts/setup.sh cpu,tpe,test`), and the Fashion-MNIST files from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-cpu}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(echo "$extras" | tr ',' '-')-$(sha1sum setup.py | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "Installing kerasnas[$extras] into .venv (log: .venv/install.log)"
  # pip's own notes go to the log; on failure its tail is shown.
  if ! { .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -e ".[$extras]"; } > .venv/install.log 2>&1; then
    tail -n 30 .venv/install.log >&2
    exit 1
  fi
  touch "$stamp"
fi
data=/usr/share/datasets/fashion-mnist
if [ -z "${KERASNAS_DATA_DIR:-}" ] && [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Installing Fashion-MNIST: apt-get install -y dataset-fashion-mnist"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "Fashion-MNIST is not in $data: install the Debian package dataset-fashion-mnist," \
         "or set KERASNAS_DATA_DIR to a folder with the four official .gz files." >&2
  fi
fi
