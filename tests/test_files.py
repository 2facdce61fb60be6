"""Files are written as a careful Unix tool writes them: whole or not at all, with the mode
open() would give, never over something that is not a regular file, no temporary left behind;
checkpoints hold any key, and a file that is not one is refused in one clear sentence."""

import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.checkpoint import NotACheckpointError
from tinygrad_lstm.files import check_writable, write_atomically


def put(data):
    return lambda f: f.write(data)


def temps(folder):
    return [name for name in os.listdir(folder) if ".tmp-" in name]


@pytest.fixture
def umask():
    """Set the umask for one test (it is the whole process's), and put it back."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


# ----- modes ------------------------------------------------------------------------------


def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    for mask in (0o022, 0o027):
        umask(mask)
        path = tmp_path / f"new-{mask:o}"
        write_atomically(path, put(b"x"))
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "kept"
    path.write_bytes(b"old")
    os.chmod(path, 0o604)
    write_atomically(path, put(b"new"))
    assert path.read_bytes() == b"new" and stat.S_IMODE(os.stat(path).st_mode) == 0o604


# ----- what stands at the path ------------------------------------------------------------


def test_a_directory_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "inside").write_bytes(b"keep")
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        write_atomically(folder, put(b"x"))
    assert str(folder) in str(info.value)
    with pytest.raises(IsADirectoryError, match="a folder, not a file"):
        write_atomically(f"{folder}{os.sep}", put(b"x"))
    assert folder.is_dir() and os.listdir(folder) == ["inside"] and temps(tmp_path) == []


def test_a_folder_name_that_does_not_exist_yet_is_not_made_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="a folder, not a file"):
        write_atomically(f"{tmp_path / 'new'}{os.sep}", put(b"x"))
    assert os.listdir(tmp_path) == []


def test_a_fifo_is_refused_and_left_as_it_was(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="named pipe") as info:
        write_atomically(fifo, put(b"x"))
    assert str(fifo) in str(info.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and temps(tmp_path) == []


def test_a_device_node_is_refused_and_left_as_it_was(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("making device nodes is not allowed here")
    with pytest.raises(OSError, match="character device"):
        write_atomically(node, put(b"x"))
    assert stat.S_ISCHR(os.lstat(node).st_mode) and temps(tmp_path) == []


def test_a_symlink_is_written_through_to_its_target_beside_it(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target, link = tmp_path / "real" / "model.npz", tmp_path / "links" / "model.npz"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link.symlink_to(os.path.relpath(target, link.parent))
    seen = []

    def write(f):
        seen.extend(temps(target.parent))
        f.write(b"new")

    assert write_atomically(link, write) == str(link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, link.parent)
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert len(seen) == 1 and seen[0].startswith(".model.npz.tmp-")  # the temporary was beside the target
    assert temps(target.parent) == [] and sorted(os.listdir(link.parent)) == ["model.npz"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to("made.bin")
    write_atomically(link, put(b"new"))
    assert link.is_symlink() and (tmp_path / "made.bin").read_bytes() == b"new"


# ----- failures leave nothing behind, and name the user's path ------------------------------


@pytest.mark.parametrize("error", [KeyboardInterrupt, TypeError])
def test_an_interrupt_or_error_while_writing_leaves_the_old_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")

    def write(f):
        f.write(b"half of the new")
        raise error()

    with pytest.raises(error):
        write_atomically(path, write)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.npz"]


def test_missing_folders_are_made(tmp_path):
    path = tmp_path / "a" / "b" / "model.npz"
    write_atomically(path, put(b"x"))
    assert path.read_bytes() == b"x"


@pytest.mark.parametrize("below", ["model.npz", "sub/model.npz"])
def test_a_parent_that_is_a_file_is_named_in_the_error(tmp_path, below):
    (tmp_path / "file").write_bytes(b"keep")
    path = str(tmp_path / "file" / below)
    for attempt in (lambda: write_atomically(path, put(b"x")), lambda: check_writable(path)):
        with pytest.raises(NotADirectoryError) as info:
            attempt()
        assert str(info.value) == f"cannot write {path!r}: Not a directory"
    assert (tmp_path / "file").read_bytes() == b"keep" and temps(tmp_path) == []


def as_unprivileged(fn):
    """fn()'s text, computed where file permissions apply: here, or, as root (who may write
    anywhere), in a forked child that has become the user nobody."""
    if os.geteuid() != 0:
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setuid(65534)
            text = fn()
        except BaseException as err:
            text = f"the child failed: {err!r}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return text


def test_a_read_only_folder_is_named_in_the_error_not_a_temporary():
    # not in tmp_path: its parents are private to root, and nobody must reach the folder
    folder = pathlib.Path(tempfile.mkdtemp()) / "read-only"
    folder.mkdir(mode=0o555)
    os.chmod(folder.parent, 0o755)
    results = []
    for path in (folder / "model.npz", folder / "missing" / "model.npz"):

        def attempt(path=path):
            try:
                write_atomically(path, put(b"x"))
            except PermissionError as err:
                return str(err)
            return "written"

        results.append((str(path), as_unprivileged(attempt)))
    listing = os.listdir(folder)
    shutil.rmtree(folder.parent)
    for path, message in results:
        assert message == f"cannot write {path!r}: Permission denied"
    assert listing == []


KILLED_WRITER = """
import sys, time
from tinygrad_lstm.files import write_atomically

def write(f):
    f.write(b"half of a checkpoint")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)

write_atomically(sys.argv[1], write)
"""


def test_a_temporary_left_by_kill_9_is_named_for_its_target_and_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "writing\n"
        write_atomically(path, put(b"second"))  # a writer that still runs keeps its temporary
        assert len(temps(tmp_path)) == 1
    finally:
        writer.kill()  # SIGKILL: no chance to clean up
        writer.wait()
        writer.stdout.close()
    (left,) = temps(tmp_path)
    assert left.startswith(".model.npz.tmp-") and path.read_bytes() == b"second"
    write_atomically(path, put(b"third"))
    assert os.listdir(tmp_path) == ["model.npz"] and path.read_bytes() == b"third"


def test_check_writable_refuses_as_a_write_would_and_writes_nothing(tmp_path):
    check_writable(tmp_path / "new" / "deeper" / "model.npz")
    assert os.listdir(tmp_path) == []  # the missing folders are made by the write, not by the check
    with pytest.raises(IsADirectoryError):
        check_writable(tmp_path)


@pytest.mark.parametrize("where", ["", "new/", "new/deeper/"])
def test_check_writable_refuses_a_name_too_long_for_the_file_system(tmp_path, where):
    """Only the final rename would meet such a name (the temporary's is cut short): after the job."""
    long = "x" * (os.pathconf(tmp_path, "PC_NAME_MAX") + 1)
    for path in (tmp_path / where / f"{long}.npz", tmp_path / f"{long}" / "model.npz"):
        with pytest.raises(OSError) as info:
            check_writable(path)
        assert "File name too long" in str(info.value) and str(path) in str(info.value)
    assert os.listdir(tmp_path) == []


# ----- checkpoints ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["file", "allow_pickle", "args", "kwds", "x.npy", "a/b", ""])
def test_any_key_is_saved_and_loaded(tmp_path, key):
    state = {key: np.arange(3.0), "w": np.ones((2, 2), np.float32)}
    tl.save(state, tmp_path / "c.npz", meta={"k": 1})
    loaded = tl.load(tmp_path / "c.npz")
    assert sorted(loaded) == sorted(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype
    assert tl.checkpoint.load_meta(tmp_path / "c.npz") == {"k": 1}


def test_a_checkpoint_without_meta_is_still_one(tmp_path):
    tl.save({"w": np.zeros(2)}, tmp_path / "c.npz")
    assert tl.checkpoint.load_meta(tmp_path / "c.npz") == {}
    np.testing.assert_array_equal(tl.load(tmp_path / "c.npz")["w"], np.zeros(2))


def test_a_checkpoint_replaced_keeps_its_mode(tmp_path):
    path = tmp_path / "c.npz"
    tl.save({"w": np.zeros(2)}, path)
    os.chmod(path, 0o640)
    tl.save({"w": np.ones(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def not_checkpoints(folder):
    """{what: path} for files that are not checkpoints."""
    good = folder / "good.npz"
    tl.save({"w": np.arange(100.0)}, good, meta={"task": "adding"})
    whole = good.read_bytes()
    files = {
        "empty": b"",
        "text": b"hello, world\n",
        "truncated": whole[: len(whole) // 2],
        "cut short by one byte": whole[:-1],
        "damaged inside": whole[:120] + b"\x00" * 40 + whole[160:],
    }
    paths = {}
    for what, data in files.items():
        paths[what] = folder / f"{what}.npz"
        paths[what].write_bytes(data)
    paths["another tool's npz"] = folder / "other.npz"
    np.savez(paths["another tool's npz"], w=np.zeros(3))
    paths["a plain npy"] = folder / "plain.npy"
    np.save(paths["a plain npy"], np.zeros(3))
    paths["an npz with pickled objects"] = folder / "objects.npz"
    np.savez(paths["an npz with pickled objects"], __meta__=np.array("{}"), w=np.array([{}], dtype=object))
    return paths


@pytest.mark.parametrize("read", [tl.load, tl.checkpoint.load_meta])
def test_a_file_that_is_not_a_checkpoint_is_refused_in_one_clear_sentence(tmp_path, read):
    for what, path in not_checkpoints(tmp_path).items():
        with pytest.raises(NotACheckpointError) as info:
            read(path)
        message = str(info.value)
        assert message.startswith(f"{str(path)!r} is not a tinygrad_lstm checkpoint: "), (what, message)
        assert "pickle" not in message, (what, message)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("read", [tl.load, tl.checkpoint.load_meta])
def test_a_missing_path_or_a_directory_is_named(tmp_path, read):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        read(tmp_path / "missing.npz")
    with pytest.raises(IsADirectoryError) as info:
        read(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_a_checkpoint_is_a_plain_npz_numpy_reads(tmp_path):
    tl.save({"w": np.arange(4), "file": np.ones(2)}, tmp_path / "c.npz", meta={"k": 1})
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__meta__", "file", "w"]
        np.testing.assert_array_equal(archive["w"], np.arange(4))
    with zipfile.ZipFile(tmp_path / "c.npz") as archive:
        assert archive.testzip() is None


@pytest.mark.parametrize(
    "state, message",
    [({"w\0a": np.ones(1), "w\0b": np.zeros(1)}, "NUL"), ({3: np.ones(1)}, "strings"), ([("w", np.ones(1))], "dict")],
)
def test_save_refuses_keys_that_would_not_come_back_and_writes_nothing(tmp_path, state, message):
    path = tmp_path / "ckpt.npz"
    with pytest.raises((ValueError, TypeError), match=message):
        tl.save(state, path)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_key_that_is_not_utf8_and_meta_that_is_not_a_dict(tmp_path):
    with pytest.raises(ValueError, match="UTF-8"):
        tl.save({"\udcff": np.ones(1)}, tmp_path / "a.npz")
    for meta in ([1], {1: 2}):
        with pytest.raises(TypeError, match="meta must be a dict with string keys"):
            tl.save({"w": np.ones(1)}, tmp_path / "a.npz", meta=meta)
    assert list(tmp_path.iterdir()) == []


def crafted(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)


def npy(array):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "members",
    [
        [("a.npy", npy(np.ones(2))), ("a", npy(np.zeros(2))), ("__meta__.npy", npy(np.array("{}")))],
        [("__meta__.npy", npy(np.array("5")))],
        [
            ("big.npy", npy(np.ones(2))[:10] + npy(np.ones(2))[10:].replace(b"(2,)", b"(10**12,)"[:4])),
            ("__meta__.npy", npy(np.array("{}"))),
        ],
    ],
)
def test_crafted_files_are_not_checkpoints(tmp_path, members):
    path = tmp_path / "crafted.npz"
    crafted(path, members)
    with pytest.raises(NotACheckpointError, match="crafted.npz"):
        tl.load(path)


def test_a_header_promising_more_than_the_file_holds_is_refused_without_allocating(tmp_path):
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    path = tmp_path / "huge.npz"
    crafted(path, [("w.npy", buffer.getvalue() + b"\0" * 16), ("__meta__.npy", npy(np.array("{}")))])
    with pytest.raises(NotACheckpointError, match="huge.npz"):  # not a MemoryError for 8 TB
        tl.load(path)


def test_loading_a_pipe_is_refused_rather_than_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotACheckpointError, match="not a regular file"):
        tl.load(tmp_path / "pipe")


def test_a_read_only_file_is_refused_as_open_would_refuse_it():
    folder = pathlib.Path(tempfile.mkdtemp())
    os.chmod(folder, 0o777)
    path = folder / "model.npz"
    path.write_bytes(b"keep")
    os.chmod(path, 0o444)

    def attempt():
        try:
            write_atomically(path, put(b"new"))
        except PermissionError as err:
            return str(err)
        return "written"

    message = as_unprivileged(attempt)
    content = path.read_bytes()
    shutil.rmtree(folder)
    assert message.startswith(f"cannot write {str(path)!r}: the file is read-only") and content == b"keep"


@pytest.mark.parametrize("suffix", ["/.", "/.."])
def test_a_path_ending_in_a_dot_names_a_folder(tmp_path, suffix):
    path = str(tmp_path / "new.npz") + suffix
    with pytest.raises(IsADirectoryError, match="names a folder"):
        write_atomically(path, put(b"x"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_root_replacing_a_users_file_keeps_its_owner(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    os.chown(path, 65534, 65534)
    write_atomically(path, put(b"new"))
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534) and path.read_bytes() == b"new"


def test_a_bare_file_name_is_written_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomically("model.npz", put(b"x"))
    write_atomically("model.npz", put(b"y"))
    assert os.listdir(tmp_path) == ["model.npz"] and (tmp_path / "model.npz").read_bytes() == b"y"


def test_a_bytes_path_is_a_path_too(tmp_path):
    tl.save({"w": np.ones(2)}, os.fsencode(tmp_path / "m.npz"))
    np.testing.assert_array_equal(tl.load(tmp_path / "m.npz")["w"], np.ones(2))
