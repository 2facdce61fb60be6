"""Edges of training and of the command line: Ctrl-C during a validation check, options that
cannot apply, paths that would lose the model, damaged checkpoints, bad arguments to the API."""

import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import checkpoint, tasks
from tinygrad_lstm.cli import main
from tinygrad_lstm.train import SequenceModel, Training, TrainingInterrupted, train


def refused(argv, capsys):
    """main(argv), which must refuse with status 2 in one line: that line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    said = capsys.readouterr()
    assert info.value.code == 2 and said.out == "" and said.err.count("\n") == 1, said
    return said.err.rstrip("\n")


def assert_same_run(a, b):
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    (a_arrays, a_state), (b_arrays, b_state) = a.state(), b.state()
    for name in a_arrays:
        np.testing.assert_array_equal(a_arrays[name], b_arrays[name], err_msg=name)
    assert a_state == b_state


# ----- Ctrl-C during a validation check -------------------------------------------------------


def copy_run(**recipe):
    task = tasks.make("copy", seq_len=10)
    tl.manual_seed(0)
    return Training(task, SequenceModel(task, hidden=8), validate_every=10, validation_size=200, **recipe)


def ctrl_c_in_the_check_at(monkeypatch, step):
    """Press Ctrl-C (a real SIGINT) while the validation check of `step` runs."""
    validate = Training.validate

    def pressing(self):
        if self.step == step:
            signal.raise_signal(signal.SIGINT)
        return validate(self)

    monkeypatch.setattr(Training, "validate", pressing)


def resumed(stopped, **recipe):
    """A new run continued from `stopped`'s state, as --resume continues a checkpoint."""
    run = copy_run(**recipe)
    run.model.load_state_dict(stopped.model.state_dict())
    run.load_state(*stopped.state())
    return run


def test_ctrl_c_in_the_check_that_moves_the_curriculum_on_is_kept_for_the_resumed_run(monkeypatch):
    recipe = dict(curriculum=True, stage_steps=30, schedule="plateau", until=0.999)
    straight = copy_run(**recipe)
    straight.run(120, log_every=1, evaluate_every=20)
    assert straight.stage_starts == [(0, 0), (30, 1)]
    stopped = copy_run(**recipe)
    ctrl_c_in_the_check_at(monkeypatch, 30)
    with pytest.raises(TrainingInterrupted, match="after step 30"):
        stopped.run(120, log_every=1, evaluate_every=20)
    monkeypatch.undo()
    assert stopped.stage_starts == [(0, 0), (30, 1)] and stopped.validation[-1][0] == 30
    later = resumed(stopped, **recipe)
    later.run(90, log_every=1, evaluate_every=20)
    assert_same_run(later, straight)  # the same stages, checks, lr, history and weights


def test_ctrl_c_in_the_check_that_reaches_until_keeps_the_run_solved(monkeypatch):
    straight = copy_run(until=0.45)
    straight.run(300)
    assert straight.finished
    stopped = copy_run(until=0.45)
    ctrl_c_in_the_check_at(monkeypatch, straight.solved_at)
    with pytest.raises(TrainingInterrupted):
        stopped.run(300)
    assert stopped.solved_at == straight.solved_at == stopped.step and stopped.finished


def test_a_second_ctrl_c_during_the_check_stops_at_once(monkeypatch):
    validate = Training.validate

    def pressing_twice(self):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        return validate(self)

    monkeypatch.setattr(Training, "validate", pressing_twice)
    with pytest.raises(KeyboardInterrupt) as info:
        copy_run(until=0.9).run(20)
    assert not isinstance(info.value, TrainingInterrupted)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_run_stopped_by_ctrl_c_and_resumed_keeps_the_history_of_one_that_never_stopped(
    tmp_path, monkeypatch, capsys, ctrl_c_at_evaluation
):
    """The resumed run logs and evaluates at the intervals of the run it continues: its curves
    are those of the run that never stopped."""
    argv = ["train", "sine", "--seq-len", "6", "--hidden", "4", "--no-progress", "--steps", "60"]
    ctrl_c_at_evaluation(3)
    with pytest.raises(SystemExit):
        main([*argv, "--checkpoint", str(tmp_path / "stopped.npz")])
    assert checkpoint.load_meta(tmp_path / "stopped.npz")["interrupted_at"] == 9  # (evaluating every 3 steps)
    monkeypatch.undo()
    assert main(["train", "sine", "--resume", str(tmp_path / "stopped.npz"), "--no-progress"]) == 0
    assert main([*argv, "--checkpoint", str(tmp_path / "straight.npz")]) == 0
    stopped, straight = (checkpoint.load_meta(tmp_path / name) for name in ("stopped.npz", "straight.npz"))
    assert stopped == straight  # the settings, the metrics, and the whole history


# ----- paths ----------------------------------------------------------------------------------

QUICK = ["--steps", "2", "--hidden", "4", "--no-progress"]


def test_a_plot_that_names_the_checkpoint_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "run.png"
    line = refused(["train", "copy", *QUICK, "--checkpoint", str(path), "--plot", str(path)], capsys)
    assert (
        line
        == f"tinygrad-lstm train: error: --plot {path}: that is the checkpoint's file, which the picture would replace"
    )
    assert os.listdir(tmp_path) == []

    model = tmp_path / "model.npz"
    assert main(["train", "copy", *QUICK, "--checkpoint", str(model)]) == 0
    before = model.read_bytes()
    (tmp_path / "link.png").symlink_to("model.npz")
    os.link(model, tmp_path / "hard.png")
    for picture in (tmp_path / "link.png", tmp_path / "hard.png"):
        for argv in (
            ["train", "copy", "--resume", str(model), "--steps", "1", "--no-progress"],
            ["train", "copy", *QUICK, "--checkpoint", str(model)],
            ["eval", str(model)],
        ):
            capsys.readouterr()
            assert "that is the checkpoint's file" in refused([*argv, "--plot", str(picture)], capsys)
    assert model.read_bytes() == before


def test_a_name_too_long_in_a_new_folder_is_refused_before_training(tmp_path, capsys):
    long = "x" * (os.pathconf(tmp_path, "PC_NAME_MAX") + 1)
    line = refused(["train", "copy", *QUICK, "--checkpoint", str(tmp_path / "new" / f"{long}.npz")], capsys)
    assert line.startswith("tinygrad-lstm train: error: cannot write") and "File name too long" in line
    assert os.listdir(tmp_path) == []


def test_a_refused_run_leaves_no_folder_behind(tmp_path, capsys):
    """The folders a checkpoint needs are made when it is written, after every check passed."""
    refused(["train", "copy", *QUICK, "--checkpoint", str(tmp_path / "new" / "m.npz"), "--plot", "x.bmp"], capsys)
    refused(["train", "copy", *QUICK, "--checkpoint", str(tmp_path / "new" / "m.npz"), "--until", "2"], capsys)
    assert os.listdir(tmp_path) == []


# ----- options that cannot apply --------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["adding", "--until", "2"], "argument --until: expected a value of the task's accuracy in (0, 1], got 2"),
        (
            ["adding", "--until", "-0.5"],
            "argument --until: expected a value of the task's accuracy in (0, 1], got -0.5",
        ),
        (["copy", "--until", "1.5"], "argument --until: expected a value of the task's accuracy in (0, 1], got 1.5"),
        (["copy", "--until", "0"], "argument --until: expected a value of the task's accuracy in (0, 1], got 0"),
        (["copy", "--until", "-inf"], "argument --until: expected a value of the task's accuracy in (0, 1], got -inf"),
        (["sine", "--until", "-1"], "mse above 0 and below its baseline 0.07038 (predicting next = current), got -1"),
        (
            ["sine", "--until", "0.99"],
            "mse above 0 and below its baseline 0.07038 (predicting next = current), got 0.99",
        ),
        (
            ["adding", "--no-curriculum", "--stage-steps", "5"],
            "--stage-steps: it limits a curriculum's easier stages, and this run has none (--curriculum is off)",
        ),
        (
            ["sine", "--stage-steps", "5"],
            "--stage-steps: it limits a curriculum's easier stages, and this run has none "
            "(the sine task has no easier form)",
        ),
        (["sine", "--curriculum"], "--curriculum: the sine task has no easier form to train on first"),
        (
            ["copy", "--seq-len", "5", "--curriculum"],
            "--curriculum: the copy task has no easier form at --seq-len 5 to train on first",
        ),
        (
            ["adding", "--stage-steps", "50", "--validate-every", "300"],
            "--stage-steps 50 must be a multiple of --validate-every 300: a stage ends only at a validation "
            "check, so it would last 300 steps",
        ),
        (["adding", "--validate-every", "300"], "--stage-steps 1000 (the default) must be a multiple of"),
        (["adding", "--layers", "2147483647"], "argument --layers: expected a number of layers from 1 to 100, got"),
        (["adding", "--lr", "1e-320"], "argument --lr: expected a positive number of at least 2.23e-308, got 1e-320"),
        (["adding", "--lr", "x"], "argument --lr: expected a positive number of at least 2.23e-308, got 'x'"),
    ],
)
def test_options_that_cannot_apply_are_refused_in_one_line(argv, message, tmp_path, capsys):
    line = refused(["train", *argv, *QUICK, "--checkpoint", str(tmp_path / "m.npz")], capsys)
    assert line.startswith("tinygrad-lstm train: error: ") and message in line, line
    assert os.listdir(tmp_path) == []


def test_until_out_of_the_metrics_range_is_refused_by_the_api_too():
    for name, until in (("copy", 1.5), ("copy", 0), ("copy", -math.inf), ("sine", 0.5), ("sine", -1)):
        task = tasks.make(name)
        with pytest.raises(ValueError, match="train: until must be a value of the task's"):
            Training(task, SequenceModel(task, hidden=4), until=until)
    task = tasks.make("sine")
    Training(task, SequenceModel(task, hidden=4), until=0.07)  # below the baseline: reachable


def test_stage_steps_that_are_no_multiple_of_validate_every_are_refused_by_the_api_too():
    task = tasks.make("copy")
    with pytest.raises(ValueError, match=r"stage_steps must be multiples of validate_every \(100\), got 150"):
        Training(task, SequenceModel(task, hidden=4), curriculum=True, stage_steps=150)


def test_argparse_errors_are_one_line_without_the_usage(capsys):
    assert refused(["train", "adding", "--lr", "nan"], capsys).startswith("tinygrad-lstm train: error: argument --lr:")
    assert refused(["train", "nosuchtask"], capsys).startswith("tinygrad-lstm train: error: argument task: invalid")
    assert refused([], capsys) == "tinygrad-lstm: error: the following arguments are required: COMMAND"


# ----- --threads is the run's own --------------------------------------------------------------


def test_threads_are_kept_by_the_checkpoint_and_by_resume(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.npz"
    assert main(["train", "copy", *QUICK, "--threads", "2", "--checkpoint", str(path)]) == 0
    assert checkpoint.load_meta(path)["threads"] == 2
    used, blas_threads = [], tl.cli._blas_threads

    def recording(n):
        used.append(n)
        return blas_threads(n)

    monkeypatch.setattr(tl.cli, "_blas_threads", recording)
    assert main(["train", "copy", "--resume", str(path), "--steps", "1", "--no-progress"]) == 0
    assert used[-1] == 2  # the training ran on the run's own two threads
    capsys.readouterr()
    line = refused(["train", "copy", "--resume", str(path), "--steps", "1", "--threads", "1"], capsys)
    assert line.endswith("its run has --threads 2, not 1; a resumed run keeps its options (leave --threads out)")


# ----- damaged checkpoints ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plateau_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "base.npz"
    argv = ["train", "copy", "--hidden", "8", "--steps", "20", "--no-progress", "--schedule", "plateau"]
    assert main([*argv, "--validate-every", "5", "--stage-steps", "10", "--checkpoint", str(path)]) == 0
    return checkpoint.read(path)


@pytest.mark.parametrize(
    "where, key, value, message",
    [
        ("training", "schedule", {}, "the training state is damaged: its schedule: ReduceLROnPlateau.load_state_dict"),
        ("training", "lr", float("nan"), "the training state is damaged: its lr is nan; expected a positive"),
        ("training", "step", -7, "the training state is damaged: its step is -7; expected an integer >= 0"),
        ("training", "solved_at", 10**6, "its solved_at is 1000000; expected None, or a step from 1 to 20"),
        (None, "training", None, "is damaged: its training is None; expected a dict"),
        (None, "until", "abc", "is damaged: its until is 'abc'; expected a number, or null"),
        (None, "until", 1.5, "is damaged: train: until must be a value of the task's accuracy in (0, 1]"),
        (None, "seed", -1, "is damaged: its seed is -1; expected an integer >= 0"),
        (None, "hidden", 8.0, "is damaged: its hidden is 8.0; expected a positive integer"),
        (None, "layers", 2**31 - 1, "is damaged: its layers is 2147483647; expected an integer from 1 to 100"),
    ],
)
@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_damaged_checkpoint_is_refused_in_one_line_naming_the_file_and_the_field(
    plateau_checkpoint, tmp_path, capsys, command, where, key, value, message
):
    state, meta, training = plateau_checkpoint
    meta = {**meta, "training": dict(meta["training"])}
    (meta[where] if where else meta)[key] = value
    path = tmp_path / "damaged.npz"
    checkpoint.save(state, path, meta=meta, training=training)
    before = path.read_bytes()
    argv = ["train", "copy", "--resume", str(path), "--steps", "3"] if command == "resume" else ["eval", str(path)]
    line = refused(argv, capsys)
    assert line.startswith(f"tinygrad-lstm {argv[0]}: error: {str(path)!r}") and message in line, line
    assert path.read_bytes() == before


# ----- the API's arguments ----------------------------------------------------------------------


COPY = tasks.make("copy", seq_len=5)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: Training("copy", m), TypeError, "train: task must be a task, e.g. tl.tasks.make('copy')"),
        (lambda m: Training(COPY, None), TypeError, "train: model must be a Module"),
        (
            lambda m: Training(COPY, m, curriculum=[tasks.make("adding", seq_len=10)]),
            ValueError,
            "curriculum must be easier forms of the copy task itself, got one of the adding task",
        ),
        (lambda m: Training(COPY, m, seed=None), TypeError, "seed must be an integer >= 0, got None"),
        (lambda m: Training(COPY, m, seed=-1), ValueError, "seed must be an integer >= 0, got -1"),
        (lambda m: Training(COPY, m, seed=True), TypeError, "seed must be an integer >= 0, got True"),
        (lambda m: Training(COPY, m, compiled="no"), TypeError, "compiled must be True or False, got 'no'"),
        (lambda m: Training(COPY, m, lr=1e-320), ValueError, "lr must be a positive finite number"),
        (
            lambda m: train(COPY, m, steps=2, progress=True),
            TypeError,
            "progress must be False or a file such as sys.stderr, got True",
        ),
        (lambda m: COPY.sample(3, 0), TypeError, "copy.sample: rng must be a numpy Generator"),
    ],
)
def test_bad_api_arguments_are_refused_at_the_call_naming_them(call, error, message):
    model = SequenceModel(COPY, hidden=4)
    weights, before = model.state_dict(), tl.random.generator().bit_generator.state
    with pytest.raises(error) as info:
        call(model)
    assert message in str(info.value)
    assert tl.random.generator().bit_generator.state == before  # (no seed was set: nothing changed)
    assert all(np.array_equal(v, weights[k]) for k, v in model.state_dict().items())


def test_a_small_numpy_count_samples_without_overflowing():
    with np.errstate(all="raise"):
        inputs, targets = COPY.sample(np.int8(100), np.random.default_rng(0))
    assert len(inputs) == len(targets) == 100


def test_every_documented_number_of_facts_makes_a_context_task_in_bounded_memory():
    """The key space of n_facts up to 8 (one per name): a few tens of MB, under a second."""
    code = (
        "import resource, tinygrad_lstm as tl\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "for n in range(1, 9): tl.tasks.make('context', seq_len=0, n_facts=n)\n"
        "print('made')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout == "made\n", done.stderr[-500:]


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_the_context_key_space_is_every_set_of_facts_once(n):
    keys = tasks.make("context", seq_len=0, n_facts=n).key_space()
    assert len(keys) == math.comb(8, n) * math.perm(8, n) == len(np.unique(keys, axis=0))


# ----- what the commands print ------------------------------------------------------------------


def test_one_step_is_said_in_the_singular(tmp_path, capsys):
    assert (
        main(
            ["train", "copy", "--steps", "1", "--hidden", "4", "--no-progress", "--checkpoint", str(tmp_path / "m.npz")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert " for at most 1 step, lr" in out and "1 steps" not in out
    assert main(["train", "copy", "--resume", str(tmp_path / "m.npz"), "--steps", "1", "--no-progress"]) == 0
    assert " at step 1 for 1 more step, lr" in capsys.readouterr().out


def test_resuming_says_the_lr_the_schedule_left(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Training, "validate", lambda self: {"accuracy": 0.5})  # never better: the lr is cut
    path = tmp_path / "m.npz"
    argv = ["--hidden", "4", "--no-progress", "--schedule", "plateau", "--validate-every", "1", "--no-curriculum"]
    assert main(["train", "copy", *argv, "--steps", "5", "--checkpoint", str(path)]) == 0
    capsys.readouterr()
    assert main(["train", "copy", "--resume", str(path), "--steps", "1", "--no-progress"]) == 0
    assert ", lr 0.005 (it started at 0.01), seed 0\n" in capsys.readouterr().out


def test_a_short_demo_says_the_plain_rnn_trained_more_steps(monkeypatch, capsys):
    monkeypatch.setattr(tl.cli, "DEMO_RNN_STEPS", 20)
    assert main(["demo", "--steps", "10", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(20 steps," in out and "(the plain RNN trains at least 20 steps whatever --steps says," in out
