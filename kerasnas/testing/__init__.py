"""Reusable tests (need pytest): `OracleContract` checks any KerasTuner oracle, `SpaceContract`
any search space, one named test per clause."""

from kerasnas.testing.oracle_contract import OracleContract
from kerasnas.testing.space_contract import SpaceContract

__all__ = ["OracleContract", "SpaceContract"]
