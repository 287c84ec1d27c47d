"""Reusable tests: `oracle_contract.OracleContract` checks any KerasTuner oracle (needs pytest)."""
