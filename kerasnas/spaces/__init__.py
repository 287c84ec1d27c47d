"""Search spaces: KerasTuner HyperModels, looked up by name.

`Space` is what every space is; `DataAware`, `Describable`, `CellSpace`,
`Configurable` and `HandDesigned` are the optional capabilities kerasnas uses
(`protocol`).
"""

from typing import Any

from kerasnas.spaces._ops import CELL_OPS, NB201_OPS
from kerasnas.spaces.convnet import ConvNetSpace
from kerasnas.spaces.custom import CustomCellSpace
from kerasnas.spaces.nasbench201 import NasBench201Space, from_arch_string, to_arch_string
from kerasnas.spaces.protocol import (CellSpace, Configurable, DataAware, Describable, HandDesigned,
                                      ProxySteered, Space)
from kerasnas.spaces.resnet import ResNetSpace

SPACES = {
    "resnet": ResNetSpace,
    "nasbench201": NasBench201Space,
    "custom": CustomCellSpace,
    "convnet": ConvNetSpace,
}

__all__ = ["CELL_OPS", "NB201_OPS", "SPACES", "CellSpace", "Configurable", "ConvNetSpace",
           "CustomCellSpace", "DataAware", "Describable", "HandDesigned", "NasBench201Space",
           "ProxySteered", "ResNetSpace", "Space", "from_arch_string", "get_space", "to_arch_string"]


def get_space(name: str, **options: Any) -> Space:
    """Creates the space registered as `name` with its knob options.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in SPACES:
        raise ValueError(f"Unknown space {name!r}. Choose one of: {', '.join(sorted(SPACES))}.")
    return SPACES[name](**options)
