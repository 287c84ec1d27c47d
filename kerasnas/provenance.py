"""Where and with what a result was measured: the machine and the package versions.

summary.json and every benchmark report record both.
"""

import os
import platform

__all__ = ["machine", "versions"]


def machine() -> str:
    """This machine: host name, processor, cores and platform."""
    return f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"


def versions() -> dict[str, str]:
    """The versions of Python and of the packages a search runs on (those installed)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("kerasnas", "tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna", "jax",
                "jaxlib", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
