"""`python -m kerasnas.run`: the command line (`kerasnas.cli` holds it; `--help` lists it)."""

import sys

from kerasnas.cli import main

if __name__ == "__main__":
    sys.exit(main())
