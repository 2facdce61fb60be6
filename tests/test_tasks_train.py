"""Tasks are seeded and well-formed; learning works (fast versions of the benchmark's claims)."""

import io
import signal
import sys

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import tasks
from tinygrad_lstm.train import SequenceModel, Training, TrainingInterrupted, evaluate, train


@pytest.mark.parametrize("name", list(tasks.TASKS))
def test_tasks_are_seeded_and_shaped(name):
    task = tasks.make(name)
    a_in, a_out = task.sample(8, np.random.default_rng(5))
    b_in, b_out = task.sample(8, np.random.default_rng(5))
    np.testing.assert_array_equal(a_in, b_in)
    np.testing.assert_array_equal(a_out, b_out)
    assert a_in.shape[0] == 8 and a_out.shape[0] == 8
    if task.tokens:
        assert a_in.dtype.kind == "i" and a_in.max() < len(task.vocab)


@pytest.mark.parametrize("name", list(tasks.TASKS))
def test_baseline_is_what_a_constant_model_scores(name):
    """The stated baseline matches a model that outputs the baseline's guess, measured on the
    held-out sequences it is reported on."""
    task = tasks.make(name)
    inputs, targets = task.sample(20000, np.random.default_rng(0), "test")
    T = inputs.shape[1]
    if name == "adding":
        outputs = np.full((len(targets), T, 1), 0.5)
    elif name == "sine":
        outputs = inputs.astype(np.float64)  # next = current
    elif name == "copy":
        outputs = np.zeros((len(targets), T, task.output_size))  # always symbol 0
    elif name == "text":  # each character's frequency in the training blocks, one added to each count
        counts = np.bincount(task.sample(20000, np.random.default_rng(1))[1].ravel(), minlength=task.output_size)
        outputs = np.broadcast_to(np.log(counts + 1.0), (len(targets), T, task.output_size))
    else:  # context: the first mentioned job
        first_job = np.array([tasks.context.JOBS.index(task.vocab[i]) for i in inputs[:, 3]])
        outputs = np.zeros((len(targets), T, task.output_size))
        outputs[np.arange(len(targets)), -1, first_job] = 1
    measured = task.evaluate(outputs, targets)[task.metric]
    assert measured == pytest.approx(task.baseline()[task.metric], abs=0.01)


def test_context_sentence_reads_like_the_tutorial():
    task = tasks.make("context", seq_len=0)
    inputs, targets = task.sample(1, np.random.default_rng(1))
    words = task.decode(inputs[0]).split()
    assert words[1:3] == ["is", "a"] and words[-5:-3] == ["what", "does"] and words[-1] == "?"
    asked = words[-3]
    assert words[words.index(asked) + 3] == tasks.context.JOBS[targets[0]]


@pytest.mark.parametrize("bad", [dict(seq_len=0), dict(seq_len=-3), dict(seq_len=2.5)])
def test_bad_task_options_are_refused(bad):
    with pytest.raises(ValueError, match="seq_len"):
        tasks.make("adding", **bad)
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        tasks.make("nope")


def test_lstm_remembers_where_rnn_forgets_on_adding():
    """Seconds-long version of benchmarks/learning.py: at T=30 the LSTM solves the adding
    problem; the plain RNN, trained the same way, stays near the constant-guess baseline."""
    task = tasks.make("adding", seq_len=30)
    results = {}
    for kind in ("lstm", "rnn"):
        tl.manual_seed(0)
        model = SequenceModel(task, kind=kind, hidden=16)
        train(task, model, steps=400, lr=1e-2, seed=0)
        results[kind] = evaluate(task, model, n=500)["accuracy"]
    baseline = task.baseline()["accuracy"]
    assert results["lstm"] >= 0.8, results
    assert results["rnn"] <= baseline + 0.15, results


def test_training_repeats_exactly_with_the_same_seed():
    task = tasks.make("sine", seq_len=10)
    runs = []
    for _ in range(2):
        tl.manual_seed(3)
        model = SequenceModel(task, hidden=8)
        runs.append(train(task, model, steps=20, seed=3, log_every=5))
    assert runs[0] == runs[1]


def sine_model(seed=0):
    task = tasks.make("sine", seq_len=6)
    tl.manual_seed(seed)
    return task, SequenceModel(task, hidden=4)


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.0), "batch_size"),
        (dict(batch_size=True), "batch_size"),
        (dict(log_every=0), "log_every"),
        (dict(lr=0.0), "lr"),
        (dict(lr=-1e-3), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=float("inf")), "lr"),
        (dict(lr="0.01"), "lr"),
        (dict(lr=True), "lr"),
        (dict(clip=-1.0), "clip"),
        (dict(clip=0), "clip"),
        (dict(clip=float("inf")), "clip"),
        (dict(clip=float("nan")), "clip"),
    ],
)
def test_train_refuses_bad_arguments_naming_them_and_leaves_the_model_as_it_was(bad, name):
    task, model = sine_model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises((ValueError, TypeError), match=f"^train: {name} must be"):
        train(task, model, steps=3, **bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_clip_none_trains_without_clipping():
    runs = {}
    for clip in (None, 1e30):
        task, model = sine_model()
        runs[clip] = train(task, model, steps=4, clip=clip, log_every=1)
    assert runs[None] == runs[1e30] and all(np.isfinite(loss) for _, loss in runs[None])


class CtrlCAt:
    """A task that presses Ctrl-C (sends SIGINT to this process) while drawing batch k: in
    the middle of a step's forward pass."""

    def __init__(self, task, k):
        self.task, self.k, self.calls = task, k, 0

    def __getattr__(self, name):
        return getattr(self.task, name)

    def sample(self, n, rng):
        self.calls += 1
        if self.calls == self.k:
            signal.raise_signal(signal.SIGINT)
        return self.task.sample(n, rng)


def test_ctrl_c_in_a_forward_pass_stops_at_once_with_the_model_of_the_last_step():
    task, model = sine_model()
    with pytest.raises(TrainingInterrupted) as info:
        train(CtrlCAt(task, 5), model, steps=100, log_every=2)
    assert isinstance(info.value, KeyboardInterrupt) and "after step 4" in str(info.value)
    assert info.value.step == 4
    _, same = sine_model()
    expected = train(task, same, steps=4, log_every=2)  # four whole steps, uninterrupted
    assert info.value.history == expected == [(2, expected[0][1]), (4, expected[1][1])]
    for (_k, a), (_, b) in zip(model.state_dict().items(), same.state_dict().items()):
        np.testing.assert_array_equal(a, b)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class CtrlCAfterDrawing(CtrlCAt):
    """Ctrl-C just after batch k is drawn: the random stream has moved on for a step that is dropped."""

    def sample(self, n, rng):
        batch = self.task.sample(n, rng)
        self.calls += 1
        if self.calls == self.k:
            signal.raise_signal(signal.SIGINT)
        return batch


def test_a_run_stopped_in_a_step_goes_on_as_if_it_never_stopped():
    """The dropped step's batch is drawn again when the run goes on: no batch skipped."""
    task, model = sine_model()
    stopped = Training(CtrlCAfterDrawing(task, 4), model)
    with pytest.raises(TrainingInterrupted, match="after step 3"):
        stopped.run(10, log_every=1)
    stopped.task = task
    stopped.run(3, log_every=1)
    task, model = sine_model()
    straight = Training(task, model)
    straight.run(6, log_every=1)
    assert stopped.losses == straight.losses and stopped.step == 6
    for (k, a), (_, b) in zip(stopped.model.state_dict().items(), model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)


def ctrl_c_in_adams_update(monkeypatch, at_step, times):
    """Press Ctrl-C `times` times inside Adam's update of step `at_step`, half-way through it."""
    update, calls = tl.optim.Adam._update, []

    def pressing(self, k, p, g):
        calls.append(k)
        if k == 1 and len(self.steps) and self.steps[0] == at_step:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return update(self, k, p, g)

    monkeypatch.setattr(tl.optim.Adam, "_update", pressing)


def test_ctrl_c_in_an_update_lets_the_update_finish_first(monkeypatch):
    task, model = sine_model()
    ctrl_c_in_adams_update(monkeypatch, 3, times=1)
    with pytest.raises(TrainingInterrupted) as info:
        train(task, model, steps=100, log_every=2)
    assert info.value.step == 3
    monkeypatch.undo()
    _, same = sine_model()
    train(task, same, steps=3, log_every=2)
    for (k, a), (_, b) in zip(model.state_dict().items(), same.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)  # every parameter updated: none half-way


def test_a_second_ctrl_c_in_an_update_interrupts_at_once(monkeypatch):
    task, model = sine_model()
    ctrl_c_in_adams_update(monkeypatch, 3, times=2)
    with pytest.raises(KeyboardInterrupt) as info:
        train(task, model, steps=100)
    assert not isinstance(info.value, TrainingInterrupted)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("name", [name for name in tasks.TASKS if tasks.make(name).chance()])
def test_chance_is_what_uniform_guessing_scores(name):
    """Where a task states chance apart from its baseline, random guesses score it."""
    task = tasks.make(name)
    inputs, targets = task.sample(20000, np.random.default_rng(0))
    outputs = np.random.default_rng(1).random((len(targets), inputs.shape[1], task.output_size))
    if task.metric == "bits_per_char":  # (a guess is a distribution: the uniform one, equal scores)
        outputs = np.zeros_like(outputs)
    measured = task.evaluate(outputs, targets)
    for metric, value in task.chance().items():
        assert measured[metric] == pytest.approx(value, abs=0.01)
    assert task.chance_meaning


def test_context_chance_is_one_in_eight_jobs():
    assert tasks.make("context").chance() == {"accuracy": pytest.approx(1 / 8)}


@pytest.mark.parametrize("name, worse, better", [("adding", 0.1, 0.9), ("sine", 0.5, 0.001), ("context", 0.5, 0.6)])
def test_beats_baseline_knows_which_way_is_better(name, worse, better):
    task = tasks.make(name)
    assert not task.beats_baseline({task.metric: worse})
    assert task.beats_baseline({task.metric: better})


def test_an_accuracy_beats_the_baseline_only_by_more_than_luck():
    task = tasks.make("context")  # baseline 50%: two standard errors on 1000 sequences are 3.16 points
    assert not task.beats_baseline({"accuracy": 0.503})
    assert not task.beats_baseline({"accuracy": 0.531})
    assert task.beats_baseline({"accuracy": 0.532})
    assert task.beats_baseline({"accuracy": 0.503}, n=10**6)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def progress_of(stream, steps=25, **run):
    task, model = sine_model()
    train(task, model, steps=steps, progress=stream, **run)
    return stream.getvalue()


def test_progress_in_a_log_is_a_line_every_10_percent():
    lines = progress_of(io.StringIO()).splitlines(keepends=True)
    assert len(lines) == 10 and "\r" not in "".join(lines)
    assert [line.split()[1] for line in lines] == [f"{k}/25" for k in (3, 5, 8, 10, 13, 15, 18, 20, 23, 25)]
    assert lines[-1].startswith("step 25/25 loss ") and lines[-1].endswith(" step/s\n")


def test_progress_on_a_terminal_is_tqdm_when_installed():
    pytest.importorskip("tqdm")
    shown = progress_of(Terminal())
    assert "\r" in shown and "25/25" in shown and "step/s" in shown and "loss=" in shown


def test_progress_on_a_terminal_without_tqdm_is_a_bar(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    shown = progress_of(Terminal())
    assert shown.startswith("\r[") and shown.count("\r") == 25 and shown.endswith("\n")
    assert shown.rstrip("\n").rsplit("\r", 1)[1].startswith("[" + "#" * 30 + "] step 25/25 loss ")
