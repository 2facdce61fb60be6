"""Checkpoints: a state dict (and optional JSON-able metadata) in one .npz file.

Plain arrays only (loaded with allow_pickle=False, so a file can't run code), written to a
temporary file first and moved into place, so a crash never leaves half a checkpoint.
"""

import json

import numpy as np

from .files import write_atomically

_META_KEY = "__meta__"


def save(state, path, meta=None):
    """Write {name: array} (e.g. module.state_dict()) and a dict of JSON-able metadata to path."""
    arrays = {}
    for name, value in state.items():
        value = np.asarray(value)
        if not isinstance(name, str) or name == _META_KEY:
            raise ValueError(f"save: keys must be strings other than {_META_KEY!r}, got {name!r}")
        if value.dtype.kind not in "biuf":
            raise TypeError(f"save: {name} must be a numeric array, got dtype {value.dtype}")
        arrays[name] = value
    if meta is not None:
        arrays[_META_KEY] = np.array(json.dumps(meta))  # raises here, before anything is written
    write_atomically(path, lambda f: np.savez(f, **arrays))


def load(path):
    """The state dict saved at path: {name: ndarray}."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name != _META_KEY}


def load_meta(path):
    """The metadata saved at path ({} if none)."""
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive[_META_KEY])) if _META_KEY in archive.files else {}
