"""kerasnas on Ray Tune: any KerasTuner oracle as a Ray Tune searcher (`OracleSearcher`).

Needs the `ray` extra (`pip install 'kerasnas[ray]'`); importing this package without it
raises an ImportError that names the extra.
"""

from kerasnas.ray.searcher import TRIAL_ID_KEY, OracleSearcher

__all__ = ["TRIAL_ID_KEY", "OracleSearcher"]
