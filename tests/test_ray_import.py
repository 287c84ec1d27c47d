"""Without the ray extra, the Ray engine says which extra to install."""

import sys

import pytest

from kerasnas.ray._import import import_ray


def test_without_ray_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'kerasnas\[ray\]'"):
        import_ray()
