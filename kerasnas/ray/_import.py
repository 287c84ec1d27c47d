"""Ray, imported where used: without it, an error that names the extra."""

from typing import Any


def import_ray() -> Any:
    """The `ray` module (with Ray Tune).

    Raises:
        ImportError: naming the extra that brings it, when Ray is not installed.
    """
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError as error:
        raise ImportError("kerasnas' Ray engine needs Ray Tune: pip install 'kerasnas[ray]' "
                          "(ray[tune] 2.60)") from error
    return ray
