"""Files written so that a kill -9 mid-write leaves the old file whole."""

import json
import os


def write_json(path, obj, **dump_kwargs):
    """Writes `obj` as JSON through a temporary file and an atomic rename.

    Returns:
        The JSON text (as KerasTuner's `utils.save_json` does).
    """
    text = json.dumps(obj, **dump_kwargs)
    with open(f"{path}.tmp", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f"{path}.tmp", path)
    return text


def write_csv(path, frame):
    """Writes a DataFrame as CSV through a temporary file and an atomic rename."""
    frame.to_csv(f"{path}.tmp", index=False)
    os.replace(f"{path}.tmp", path)
