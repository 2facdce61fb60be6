"""Writing files as a careful Unix tool does: whole or not at all.

The new content goes to a temporary file beside the target, `.NAME.tmp-PID-RANDOM`, which is
then renamed over the target in one atomic step. So the target holds either its old content
or all of the new, whatever happens while writing; a new file gets the mode open() would give
it (0666 less the umask) and a replaced one keeps its own; a symlink stays a link and its
target gets the new content; something that is not a regular file (a directory, a named
pipe, a device) is refused and left alone; and errors name the path asked for, not the
temporary.
"""

import contextlib
import errno
import os
import secrets
import stat

# What stands at a path that is not a regular file, in the words of an error message.
_NOT_FILES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def write_atomically(path, write):
    """Call write(f) on a new temporary file beside path (f is open for writing bytes), then
    move it into place. Creates missing folders. Returns path.

    A failure or Ctrl-C while writing removes the temporary; one left by a process that was
    killed outright is removed by the next write to the same path."""
    path = os.fsdecode(path)  # str, bytes or a Path: as a str
    with _errors_naming(path):
        target, old = _target(path)
        _remove_stale_temporaries(target)
        tmp, handle = _new_temporary(target)
        try:
            with os.fdopen(handle, "wb") as f:
                if old is not None:  # a replaced file keeps its owner (where we may set it) and mode
                    if hasattr(os, "geteuid") and os.geteuid() == 0:
                        os.chown(tmp, old.st_uid, old.st_gid)  # (before chmod: chown clears setuid bits)
                    os.chmod(tmp, stat.S_IMODE(old.st_mode))
                write(f)
                f.flush()
                os.fsync(f.fileno())  # the content is on disk before the name points to it
            os.replace(tmp, target)
        except BaseException:  # KeyboardInterrupt too: no temporary survives
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    return path


def check_writable(path):
    """Raise now the error write_atomically(path, ...) would raise (a name too long for the file
    system, a folder that cannot be made or written, a directory in the way), so a long job can
    refuse before it starts. Leaves nothing behind: neither path nor the missing folders, which
    the write makes (a refused job must not leave empty folders)."""
    path = os.fsdecode(path)  # str, bytes or a Path: as a str
    with _errors_naming(path):
        target, info = _target(path)
        # The names still to be made (missing folders, the file), and the nearest folder that exists.
        new, existing = ([] if info else [os.path.basename(target)]), os.path.dirname(target)
        while existing and not os.path.lexists(existing):
            new.append(os.path.basename(existing))
            existing = os.path.dirname(existing)
        if existing and not os.path.isdir(existing):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        # (the temporary's name is cut short to fit, so only the final rename would find a name too
        # long: after the whole job)
        limit = _name_max(existing or ".")
        for name in new:
            if len(os.fsencode(name)) > limit:
                shown = name if len(name) <= 40 else f"{name[:20]}...{name[-12:]}"
                raise OSError(
                    errno.ENAMETOOLONG,
                    f"{os.strerror(errno.ENAMETOOLONG)} ({shown!r} is {len(os.fsencode(name))} bytes; "
                    f"this file system takes at most {limit})",
                )
        tmp, handle = _new_temporary(os.path.join(existing, os.path.basename(target)))
        os.close(handle)
        os.unlink(tmp)


def _name_max(folder):
    """The longest file name, in bytes, that folder's file system takes (255 where it can't say)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # (AttributeError: no pathconf, on Windows)
        return 255


@contextlib.contextmanager
def _errors_naming(path):
    """Re-raise an OSError (same class) as "cannot write PATH: reason": the user's path, never
    a temporary's or a folder's name."""
    try:
        yield
    except OSError as err:
        raise type(err)(f"cannot write {path!r}: {err.strerror or err}") from None


def _target(path):
    """The file to write (a symlink's target, so the link stays a link) and its os.stat if it
    exists. Anything there that is not a regular file is refused, and so is a file open()
    could not write (a read-only one, for a user other than root)."""
    if os.path.basename(path) in ("", ".", ".."):  # "runs/", "", "x/.": open() would not make a file of them
        raise IsADirectoryError("it names a folder, not a file")
    target = path
    for _ in range(40):  # follow symlinks at the last step, as open() does (not realpath: "a/../b" stays as asked)
        if not os.path.islink(target):
            break
        target = os.path.join(os.path.dirname(target), os.readlink(target))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target, None
    if not stat.S_ISREG(info.st_mode):
        kind = next((kind for is_kind, kind in _NOT_FILES if is_kind(info.st_mode)), "not a regular file")
        error = IsADirectoryError if stat.S_ISDIR(info.st_mode) else OSError
        raise error(f"it is {kind}, which is left as it is; give a file's path")
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only (open() would refuse to write it too)")
    return target, info


def _temporary_prefix(target):
    # the name is cut short so that the temporary's name fits where the target's does
    return os.path.join(os.path.dirname(target), f".{os.path.basename(target)[:100]}.tmp-")


def _new_temporary(target):
    """(name, open handle) of a new, empty temporary beside target, with the mode open() gives
    a new file (the kernel applies the umask)."""
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    except FileExistsError:  # makedirs' word for a file standing where a folder must be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
    while True:
        tmp = f"{_temporary_prefix(target)}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # the same random name, already taken: draw another
            continue


def _remove_stale_temporaries(target):
    """Remove the temporaries that earlier writes to target left because their process was
    killed outright (kill -9 gives no chance to clean up). A temporary whose process still
    runs belongs to a write in progress, and is left alone."""
    prefix = _temporary_prefix(target)
    folder, start = os.path.split(prefix)
    try:
        names = os.listdir(folder or ".")
    except FileNotFoundError:
        return
    for name in names:
        pid = name[len(start) :].partition("-")[0] if name.startswith(start) else ""
        if pid.isdecimal() and not _running(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))


def _running(pid):
    if os.name != "posix":
        return True  # no cheap check elsewhere: keep the temporary rather than risk a live one's
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # no such process (or no such number of one)
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    return True
