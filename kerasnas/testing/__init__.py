"""Reusable tests (need pytest): `OracleContract` checks any KerasTuner oracle,
`MultiObjectiveContract` one that trades objectives off, `SpaceContract` any search space,
one named test per clause."""

from kerasnas.testing.oracle_contract import MultiObjectiveContract, OracleContract
from kerasnas.testing.space_contract import SpaceContract

__all__ = ["MultiObjectiveContract", "OracleContract", "SpaceContract"]
