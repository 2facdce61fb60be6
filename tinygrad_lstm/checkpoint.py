"""Checkpoints: a state dict and JSON-able metadata in one .npz file.

The file is a zip of .npy arrays, as np.savez writes it (so np.load reads it), plus the
metadata as a JSON string under __meta__, which marks the file as a checkpoint. Plain arrays
only: nothing is unpickled, so a file can't run code. Written through write_atomically, so a
crash never leaves half a checkpoint.
"""

import json
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np

from .files import write_atomically

_META_KEY = "__meta__"


class NotACheckpointError(ValueError):
    """A file that is there but is not a whole tinygrad_lstm checkpoint."""


def save(state, path, meta=None):
    """Write {name: array} (e.g. module.state_dict()) and a dict of JSON-able metadata to path."""
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a dict of name -> array (e.g. model.state_dict()), got {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        # (a NUL would end the name inside the zip: two keys could become one)
        if not isinstance(name, str) or name == _META_KEY or "\0" in name:
            raise ValueError(f"save: keys must be strings without NUL, other than {_META_KEY!r}, got {name!r}")
        value = np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"save: {name} must be a numeric array, got dtype {value.dtype}")
        arrays[name] = value
    arrays[_META_KEY] = np.array(json.dumps({} if meta is None else meta))  # raises here, before anything is written
    write_atomically(path, lambda f: _write_npz(f, arrays))


def load(path):
    """The state dict saved at path: {name: ndarray}."""
    return _read(path)[0]


def load_meta(path):
    """The metadata saved at path ({} if none)."""
    return _read(path)[1]


def _write_npz(f, arrays):
    # What np.savez does, without its keyword arguments: np.savez(f, **arrays) would take a
    # key called "file" or "allow_pickle" for one of its own.
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def _read(path):
    """(state dict, metadata) from the checkpoint at path. A file that is not a whole checkpoint
    raises NotACheckpointError; one that cannot be opened, open()'s OSError, which names path."""
    with open(path, "rb") as f:
        try:
            arrays = _read_npz(f)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError, RuntimeError):
            # not a zip, cut short or damaged (a seek before its start is an OSError), packed in a
            # way zipfile can't read, or holding something other than plain arrays
            raise _not_a_checkpoint(path, "it is not a whole .npz file of plain arrays") from None
    if _META_KEY not in arrays:
        raise _not_a_checkpoint(path, f"it has no {_META_KEY} entry (saved by other software?)")
    try:
        meta = json.loads(str(arrays.pop(_META_KEY)))
    except ValueError:
        raise _not_a_checkpoint(path, f"its {_META_KEY} entry is not JSON") from None
    return arrays, meta


def _read_npz(f):
    with zipfile.ZipFile(f) as archive:
        return {member.removesuffix(".npy"): _read_array(archive, member) for member in archive.namelist()}


def _read_array(archive, member):
    with archive.open(member) as data:
        return np.lib.format.read_array(data, allow_pickle=False)


def _not_a_checkpoint(path, reason):
    return NotACheckpointError(f"{str(path)!r} is not a tinygrad_lstm checkpoint: {reason}")
