"""Files written so that a kill -9 mid-write leaves the old file whole.

Each write goes to a temporary file of its own in the target's folder, is
synced, then renamed over the target (atomic on one file system). The name is
unique per write, so writers saving one file at once (several oracles on one
project folder) each rename a whole file: the last one wins, none crashes.
"""

import json
import os
import uuid


def _write_atomically(path, write, **open_kwargs):
    """Calls `write(file)` on a fresh temporary file beside `path`, then renames it to `path`."""
    directory, name = os.path.split(os.path.abspath(path))
    # Hidden and ending in .tmp: no glob of the folder's files (trial_*/trial.json) matches it.
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8", **open_kwargs) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise


def write_json(path, obj, **dump_kwargs):
    """Writes `obj` as JSON through a temporary file and an atomic rename.

    Returns:
        The JSON text (as KerasTuner's `utils.save_json` does).
    """
    text = json.dumps(obj, **dump_kwargs)
    _write_atomically(path, lambda f: f.write(text))
    return text


def write_csv(path, frame):
    """Writes a DataFrame as CSV through a temporary file and an atomic rename."""
    # newline="": pandas writes its own line ends (as it does when given a path).
    _write_atomically(path, lambda f: frame.to_csv(f, index=False), newline="")


def write_text(path, text):
    """Writes `text` through a temporary file and an atomic rename, creating the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _write_atomically(path, lambda f: f.write(text))
