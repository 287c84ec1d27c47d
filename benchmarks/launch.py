"""Starting a benchmark's child process: `python -m <module>` on this repository's code.

Harnesses that measure in a fresh process (a backend, a variant, a framework) start
their children through `module_command` and `child_env`, so that a child imports the
same `benchmarks` and `kerasnas` as its parent, from any working directory, without
editing `sys.path`. `command_text` is the command a report states (how to rerun it).
"""

import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository


def module_command(module, *args):
    """This interpreter running `module` as `python -m module args...` (args as text)."""
    return [sys.executable, "-m", module, *map(str, args)]


def child_env(env=None, **changes):
    """`env` (default: this process' environment) with `changes`, and the repository first on
    PYTHONPATH, so that the child imports this tree, not an installed copy."""
    env = dict(os.environ if env is None else env)
    env.update(changes)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def command_text(module, args):
    """`python -m module args`, quoted as for a shell: the command line a report states."""
    return shlex.join(["python", "-m", module, *map(str, args)])
