"""A run saved and resumed ends with the very numbers of one that never stopped; a resume that
does not fit its checkpoint is refused in one line, nothing written."""

import os

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import checkpoint, tasks
from tinygrad_lstm.cli import main
from tinygrad_lstm.train import SequenceModel, Training


def dropout_model(seed=0):
    """Two LSTM layers with dropout between them: the dropout stream must go on too."""
    task = tasks.make("sine", seq_len=6)
    tl.manual_seed(seed)
    model = SequenceModel(task, hidden=4, num_layers=2)
    model.rnn.dropout = 0.3
    return task, model


def assert_same_run(a, b):
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    (a_arrays, a_state), (b_arrays, b_state) = a.state(), b.state()
    assert a_arrays.keys() == b_arrays.keys()
    for name in a_arrays:
        np.testing.assert_array_equal(a_arrays[name], b_arrays[name], err_msg=name)
    assert a_state == b_state  # step, Adam's step counts, random streams, losses, held-out metrics


def test_a_run_saved_and_resumed_is_the_run_that_never_stopped(tmp_path):
    task, model = dropout_model()
    first = Training(task, model, lr=1e-2, seed=3)
    first.run(7, log_every=1, evaluate_every=3)
    arrays, state = first.state()
    checkpoint.save(model.state_dict(), tmp_path / "m.npz", meta={"training": state}, training=arrays)

    task, model = dropout_model(seed=9)  # other weights, other streams: all replaced by the checkpoint's
    weights, meta, training = checkpoint.read(tmp_path / "m.npz")
    model.load_state_dict(weights)
    resumed = Training(task, model, lr=1e-2, seed=3)
    resumed.load_state(training, meta["training"])
    assert resumed.step == 7 and resumed.optimizer.steps == first.optimizer.steps == [7] * len(first.optimizer.steps)
    resumed.run(5, log_every=1, evaluate_every=3)

    task, model = dropout_model()
    straight = Training(task, model, lr=1e-2, seed=3)
    straight.run(12, log_every=1, evaluate_every=3)
    held_out_steps = [step for step, _ in straight.held_out]
    assert held_out_steps == [3, 6, 9, 12] and len(straight.losses) == 12
    # (the first run also evaluated at its last step, 7)
    assert [step for step, _ in resumed.held_out] == [3, 6, 7, 9, 12]
    resumed.held_out.remove(resumed.held_out[2])
    assert_same_run(resumed, straight)


def test_checkpoint_keeps_training_arrays_apart_from_the_state_dict(tmp_path):
    path = tmp_path / "m.npz"
    checkpoint.save({"w": np.ones(2)}, path, meta={"a": 1}, training={"adam.m.w": np.zeros(2)})
    assert list(tl.load(path)) == ["w"] and list(checkpoint.load_training(path)) == ["adam.m.w"]
    with pytest.raises(ValueError, match="not beginning with 'training/'"):
        checkpoint.save({"training/w": np.ones(2)}, tmp_path / "other.npz")
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize(
    "broken, message",
    [
        (
            lambda arrays, state: arrays.pop("adam.m.head.weight"),
            "Adam's m for head.weight should have shape (1, 4), found none",
        ),
        (
            lambda arrays, state: arrays.update({"adam.v.head.bias": np.zeros(3)}),
            "Adam's v for head.bias should have shape (1,), found shape (3,)",
        ),
        (lambda arrays, state: state.pop("streams"), "the training state is damaged: its streams is missing"),
        (
            lambda arrays, state: state.update(streams=[{"bit_generator": "MT19937"}] * 2),
            "the training state is damaged: its streams is [{'bit_generator'",
        ),
        (lambda arrays, state: state.update(adam_steps=[1]), "its adam_steps is [1]; expected 10 integers >= 0"),
        (lambda arrays, state: state.update(streams=state["streams"][:1]), "the training state is damaged"),
        (lambda arrays, state: state.update(step=-7), "its step is -7; expected an integer >= 0"),
        (lambda arrays, state: state.update(step=2.0), "its step is 2.0; expected an integer >= 0"),
        (lambda arrays, state: state.update(lr=float("nan")), "its lr is nan; expected a positive finite number"),
        (lambda arrays, state: state.update(lr=-5), "its lr is -5; expected a positive finite number"),
        (lambda arrays, state: state.update(solved_at=10**6), "its solved_at is 1000000; expected None, or a step"),
        (lambda arrays, state: state.update(stage_starts=[[0]]), "its stage_starts is [[0]]; expected a list of"),
        (lambda arrays, state: state.update(held_out=[[1, [1, 2]]]), "its held_out is [[1, [1, 2]]]; expected"),
        (lambda arrays, state: state.update(losses="abc"), "its losses is 'abc'; expected a list of [step, loss]"),
        (lambda arrays, state: state.update(schedule={}), "its schedule is {}; expected None: this run has no"),
    ],
)
def test_a_training_state_that_does_not_fit_is_refused_and_changes_nothing(broken, message):
    task, model = dropout_model()
    source = Training(task, model)
    source.run(2)
    arrays, state = source.state()
    broken(arrays, state)
    task, model = dropout_model()
    target = Training(task, model)
    before = target.state()
    with pytest.raises(ValueError) as info:
        target.load_state(arrays, state)
    assert message in str(info.value)
    after = target.state()
    assert after[1] == before[1] and all(np.array_equal(after[0][k], v) for k, v in before[0].items())


# ----- the command line ----------------------------------------------------------------------

TINY = ["--seq-len", "6", "--hidden", "4", "--no-progress"]


def trained(tmp_path, name, *argv):
    path = tmp_path / name
    assert main(["train", "sine", *TINY, "--checkpoint", str(path), *argv]) == 0
    return path


def report(out):
    """The held-out metrics block train and eval print."""
    lines = out.splitlines()
    start = lines.index("held-out metrics (1000 sequences never trained on):")
    return "\n".join(line for line in lines[start:] if line.startswith(("held-out", "  ")))


def test_200_steps_resumed_for_300_more_end_as_500_steps_did(tmp_path, capsys):
    resumed = trained(tmp_path, "resumed.npz", "--steps", "200")
    capsys.readouterr()
    assert main(["train", "sine", "--resume", str(resumed), "--steps", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith(
            "resuming lstm (hidden 4, layers 1) on sine (seq-len 6) at step 200 for 300 more steps, lr 0.01, seed 0\n"
        )
        and f"checkpoint saved to {resumed}\n" in out
    )
    straight = trained(tmp_path, "straight.npz", "--steps", "500")
    assert report(capsys.readouterr().out) == report(out)

    (a_weights, a_meta, a_adam), (b_weights, b_meta, b_adam) = checkpoint.read(resumed), checkpoint.read(straight)
    for mine, theirs in ((a_weights, b_weights), (a_adam, b_adam)):
        assert mine.keys() == theirs.keys() and len(mine) > 0
        for name in mine:
            np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
    a_run, b_run = a_meta.pop("training"), b_meta.pop("training")
    # the run planned as 200 steps logs every 2 and evaluates every 10, also when resumed; one of 500, every 5 and 25
    assert (a_meta.pop("log_every"), a_meta.pop("evaluate_every"), b_meta.pop("log_every")) == (2, 10, 5)
    b_meta.pop("evaluate_every")
    assert a_meta == b_meta  # the settings, the planned 500 steps and the metrics
    for key in ("step", "adam_steps", "streams"):
        assert a_run[key] == b_run[key], key
    assert a_run["step"] == 500 and a_run["losses"][-1] == b_run["losses"][-1]
    assert dict(a_run["losses"])[300] == dict(b_run["losses"])[300]


def test_a_run_stopped_by_ctrl_c_resumes_its_remaining_steps(tmp_path, monkeypatch, capsys, ctrl_c_at_evaluation):
    """Ctrl-C (here, while evaluating at step 6) saves the run; --resume without --steps trains
    the steps it had left, and ends where the run that never stopped ended."""
    ctrl_c_at_evaluation(3)
    path = tmp_path / "stopped.npz"
    with pytest.raises(SystemExit) as info:
        main(["train", "sine", *TINY, "--steps", "40", "--checkpoint", str(path)])
    assert info.value.code == 130 and checkpoint.load_meta(path)["interrupted_at"] == 6
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["eval", str(path)]) == 0
    assert "trained 6 steps (stopped by Ctrl-C)" in capsys.readouterr().out
    assert main(["train", "sine", "--resume", str(path), "--no-progress"]) == 0
    assert "at step 6 for 34 more steps" in capsys.readouterr().out
    straight = trained(tmp_path, "straight.npz", "--steps", "40")
    for name, value in tl.load(straight).items():
        np.testing.assert_array_equal(tl.load(path)[name], value, err_msg=name)
    assert checkpoint.load_meta(path)["metrics"] == checkpoint.load_meta(straight)["metrics"]


@pytest.fixture
def saved(tmp_path, capsys):
    path = trained(tmp_path, "m.npz", "--steps", "2")
    capsys.readouterr()
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "adding", "--steps", "1"], "it holds a model of the sine task, not adding"),
        (
            ["train", "sine", "--hidden", "8"],
            "its run has --hidden 4, not 8; a resumed run keeps its options (leave --hidden out)",
        ),
        (["train", "sine", "--model", "gru"], "its run has --model lstm, not gru"),
        (["train", "sine", "--seq-len", "7"], "its run has --seq-len 6, not 7"),
        (["train", "sine", "--batch-size", "8"], "its run has --batch-size 32, not 8"),
        (["train", "sine"], "its run finished its 2 steps; say how many more with --steps"),
    ],
)
def test_a_resume_that_does_not_fit_is_refused_in_one_line_and_writes_nothing(saved, capsys, argv, message):
    before = saved.read_bytes()
    with pytest.raises(SystemExit) as info:
        main([*argv, "--resume", str(saved), "--no-progress"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith(f"tinygrad-lstm train: error: --resume {saved}: {message}")
    assert err.count("\n") == 1
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["m.npz"]


def test_resume_refuses_a_checkpoint_without_a_training_state(tmp_path, capsys):
    path = tmp_path / "m.npz"
    task = tasks.make("sine", seq_len=6)
    settings = dict(task="sine", model="lstm", hidden=4, layers=1, seq_len=6, lr=0.01, batch_size=32, seed=0, steps=2)
    tl.save(SequenceModel(task, hidden=4).state_dict(), path, meta=settings)
    with pytest.raises(SystemExit) as info:
        main(["train", "sine", "--resume", str(path), "--steps", "1"])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith("it holds no training state to continue (it was saved without one)\n")
