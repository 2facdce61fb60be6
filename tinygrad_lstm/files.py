"""Writing files so that a failure never leaves half of one behind."""

import os
import tempfile


def write_atomically(path, write):
    """Call write(f) on a temporary file beside path, then move it into place.

    The move is atomic: path holds either its old content or the whole new one.
    Creates missing folders. Returns path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
