"""The tinygrad-lstm command: training end to end, checkpoints, clear refusals."""

import subprocess
import sys

import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main


def test_train_reports_metrics_and_saves_a_loadable_checkpoint(tmp_path, capsys):
    path = tmp_path / "sine.npz"
    assert main(["train", "sine", "--steps", "30", "--seq-len", "12", "--hidden", "8", "--no-progress",
                 "--checkpoint", str(path)]) == 0
    out = capsys.readouterr().out
    assert "held-out metrics" in out and "mse" in out and str(path) in out
    meta = tl.checkpoint.load_meta(path)
    assert meta["task"] == "sine" and meta["hidden"] == 8 and "mse" in meta["metrics"]
    model = tl.train.SequenceModel(tl.tasks.make("sine", seq_len=12), hidden=8)
    model.load_state_dict(tl.load(path))


@pytest.mark.parametrize("argv, message", [
    (["train", "nosuchtask"], "invalid choice"),
    (["train", "adding", "--steps", "0"], "positive integer"),
    (["train", "adding", "--lr", "-1"], "positive number"),
    (["train", "adding", "--model", "transformer"], "invalid choice"),
    (["train", "adding", "--seq-len", "1", "--steps", "1"], "seq_len must be at least 2"),
    (["graph", "-o", "picture.bmp"], "unknown picture format"),
    ([], "required"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tinygrad_lstm", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout and "demo" in result.stdout
