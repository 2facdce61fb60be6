"""Checkpoints: a state dict, JSON-able metadata and, optionally, a training run's arrays
(Adam's moments, to resume it) in one .npz file.

The file is a zip of .npy arrays, as np.savez writes it (so np.load reads it), plus the
metadata as a JSON string under __meta__, which marks the file as a checkpoint. The training
arrays are stored under names beginning with "training/", which no parameter's name has, so
load() gives the model's state dict alone. Plain arrays
only: nothing is unpickled, so a file can't run code. Written through write_atomically, so a
crash never leaves half a checkpoint.
"""

import json
import math
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from .files import write_atomically

_META_KEY = "__meta__"
_TRAINING = "training/"


class NotACheckpointError(ValueError):
    """A file that is there but is not a whole tinygrad_lstm checkpoint."""


def save(state, path, meta=None, training=None):
    """Write {name: array} (e.g. module.state_dict()), a dict of JSON-able metadata and another
    {name: array} of a training run's (see load_training) to path."""
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a dict of name -> array (e.g. model.state_dict()), got {type(state).__name__}")
    if training is not None and not isinstance(training, Mapping):
        raise TypeError(f"save: training must be a dict of name -> array, got {type(training).__name__}")
    arrays = {}
    for prefix, group in (("", state), (_TRAINING, training or {})):
        for name, value in group.items():
            if not _storable(name):
                raise ValueError(
                    f"save: keys must be strings of UTF-8 text without NUL, other than {_META_KEY!r} "
                    f"and not beginning with {_TRAINING!r}, got {name!r}"
                )
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise TypeError(f"save: {name} must be a numeric array, got dtype {value.dtype}")
            arrays[prefix + name] = value
    meta = {} if meta is None else meta
    if not isinstance(meta, Mapping) or not all(isinstance(k, str) for k in meta):
        raise TypeError(f"save: meta must be a dict with string keys, got {meta!r}")
    arrays[_META_KEY] = np.array(json.dumps(meta))  # raises here, before anything is written
    write_atomically(path, lambda f: _write_npz(f, arrays))


def load(path):
    """The state dict saved at path: {name: ndarray}."""
    return read(path)[0]


def load_meta(path):
    """The metadata saved at path ({} if none)."""
    return read(path)[1]


def load_training(path):
    """The training arrays saved at path ({} if none)."""
    return read(path)[2]


def read(path):
    """(state dict, metadata, training arrays) from path, in one reading."""
    arrays, meta = _read(path)
    state = {k: v for k, v in arrays.items() if not k.startswith(_TRAINING)}
    training = {k.removeprefix(_TRAINING): v for k, v in arrays.items() if k.startswith(_TRAINING)}
    return state, meta, training


def _storable(name):
    """A key the zip can hold as it is: text (a NUL would end the name there, so two keys
    could become one; a lone surrogate has no UTF-8), and not our metadata's."""
    if not isinstance(name, str) or name == _META_KEY or name.startswith(_TRAINING) or "\0" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
        raise _not_a_checkpoint(path, "it is not a regular file (a pipe or a device?)")  # open() would wait on a pipe
    with open(path, "rb") as f:
        try:
            arrays = _read_npz(f)
        except MemoryError:  # a whole checkpoint too big for this machine: say so, as it is
            raise
        except Exception:
            # Not a zip, cut short or damaged, packed in a way zipfile can't read, or holding
            # something other than plain arrays: zipfile, zlib and numpy's header parser each
            # say so with exceptions of their own (BadZipFile, zlib.error, EOFError, ValueError,
            # SyntaxError, tokenize.TokenError, ...), and any of them means the same here.
            raise _not_a_checkpoint(path, "it is not a whole .npz file of plain arrays") from None
    if _META_KEY not in arrays:
        raise _not_a_checkpoint(path, f"it has no {_META_KEY} entry (saved by other software?)")
    try:
        meta = json.loads(str(arrays.pop(_META_KEY)))
    except ValueError:
        raise _not_a_checkpoint(path, f"its {_META_KEY} entry is not JSON") from None
    if not isinstance(meta, dict):
        raise _not_a_checkpoint(path, f"its {_META_KEY} entry is not a JSON object")
    return arrays, meta


def _read_npz(f):
    with zipfile.ZipFile(f) as archive:
        names = archive.namelist()
        keys = [name.removesuffix(".npy") for name in names]
        if len(set(keys)) != len(keys):  # ("a" and "a.npy", or one name twice): one array would be lost
            raise ValueError("two entries have the same name")
        return {key: _read_array(archive, archive.getinfo(name)) for key, name in zip(keys, names)}


def _read_array(archive, member):
    with archive.open(member) as data:
        version = np.lib.format.read_magic(data)
        if version not in ((1, 0), (2, 0)):  # the versions np.lib.format.write_array writes plain arrays in
            raise ValueError(f"an entry is in .npy version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(data)
        if dtype.hasobject or math.prod(shape) * dtype.itemsize > member.file_size:
            raise ValueError("an entry's header promises more than the entry holds")  # (not gigabytes of zeros)
    with archive.open(member) as data:
        return np.lib.format.read_array(data, allow_pickle=False)


def _not_a_checkpoint(path, reason):
    return NotACheckpointError(f"{str(path)!r} is not a tinygrad_lstm checkpoint: {reason}")
