"""kerasnas on Ray Tune: any KerasTuner oracle as a Ray Tune searcher (`OracleSearcher`), and a
kerasnas space for Ray's own searchers and schedulers (`param_space`, `trainable`).

Needs the `ray` extra (`pip install 'kerasnas[ray]'`); importing this package without it
raises an ImportError that names the extra.
"""

from kerasnas.ray.searcher import TRIAL_ID_KEY, OracleSearcher
from kerasnas.ray.trainable import param_space, trainable

__all__ = ["TRIAL_ID_KEY", "OracleSearcher", "param_space", "trainable"]
