"""Reusable tests (need pytest): `OracleContract` checks any KerasTuner oracle,
`MultiObjectiveContract` one that trades objectives off, `SteeringContract` one whose random
draws a proxy steers, `SpaceContract` any search space, one named test per clause."""

from kerasnas.testing.oracle_contract import MultiObjectiveContract, OracleContract, SteeringContract
from kerasnas.testing.space_contract import SpaceContract

__all__ = ["MultiObjectiveContract", "OracleContract", "SpaceContract", "SteeringContract"]
