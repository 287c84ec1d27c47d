"""Every name a public module exports (`__all__`) carries full type hints (mypy checks them).

A function's parameters and return, a class's `__init__` parameters and its public methods and
properties (those kerasnas defines, inherited ones included) must be annotated. Nothing trains.
"""

import importlib
import inspect
import types

import pytest

# The packages and the modules users import from (README, "From Python").
PUBLIC_MODULES = [
    "kerasnas", "kerasnas.datasets", "kerasnas.datasets.fashion_mnist", "kerasnas.early_stopping",
    "kerasnas.keras_tuner_internals", "kerasnas.methods", "kerasnas.oracles", "kerasnas.progress",
    "kerasnas.run_folder", "kerasnas.schedules", "kerasnas.search",
    "kerasnas.settings", "kerasnas.spaces", "kerasnas.spaces.protocol", "kerasnas.summary",
    "kerasnas.testing", "kerasnas.proxies", "kerasnas.provenance", "kerasnas.budget_plan",
    "kerasnas.oracles.successive_halving",
]
CHECKED_DUNDERS = ("__init__", "__call__")


def _ours(obj):
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "kerasnas"


def missing_annotations(fn, *, method=False):
    """The unannotated parts of `fn`: parameter names, and "return" (not asked of `__init__`)."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if fn.__name__ != "__init__" and signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def _methods(cls):
    """(name, function, is_static) of the public methods and properties kerasnas defines on `cls`."""
    seen = set()
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, attr in vars(klass).items():
            if name in seen or (name.startswith("_") and name not in CHECKED_DUNDERS):
                continue
            seen.add(name)
            static = isinstance(attr, staticmethod)
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            elif isinstance(attr, property):
                attr = attr.fget
            if inspect.isfunction(attr) and _ours(attr):
                yield name, attr, static


def unannotated(module):
    """`name: [missing parts]` for every exported function and class of `module` that lacks hints."""
    out = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not _ours(obj):
            continue
        if inspect.isfunction(obj):
            if missing := missing_annotations(obj):
                out.append(f"{name}: {missing}")
        elif inspect.isclass(obj):
            for method_name, fn, static in _methods(obj):
                if missing := missing_annotations(fn, method=not static):
                    out.append(f"{name}.{method_name}: {missing}")
    return out


EXAMPLE = """
def typed(x: int, *args: int, **kwargs: str) -> None: ...

def untyped(x, *, y: int = 0): ...

class Base:
    def inherited(self, a): ...

class Thing(Base):
    def __init__(self, a: int, b): ...

    @property
    def size(self): ...

    @staticmethod
    def make(n: int) -> "Thing": ...

    @classmethod
    def load(cls, path) -> "Thing": ...

    def _private(self, z): ...

__all__ = ["typed", "untyped", "Thing", "len"]
"""


def _example_module():
    """A module named as kerasnas' (what it defines counts as kerasnas'), with gaps in its hints."""
    module = types.ModuleType("kerasnas.typing_example")
    exec(EXAMPLE, module.__dict__)
    module.len = len  # exported but not kerasnas': not checked
    return module


def test_the_check_names_every_missing_hint_of_exported_functions_and_classes():
    assert unannotated(_example_module()) == [
        "untyped: ['x', 'return']",
        "Thing.__init__: ['b']",
        "Thing.size: ['return']",
        "Thing.load: ['path']",
        "Thing.inherited: ['a', 'return']",
    ]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_exported_callable_is_fully_annotated(module_name):
    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__"
    assert unannotated(module) == []
