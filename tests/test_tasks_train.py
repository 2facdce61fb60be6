"""Tasks are seeded and well-formed; learning works (fast versions of the benchmark's claims)."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import tasks
from tinygrad_lstm.train import SequenceModel, evaluate, train


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
    """The stated baseline matches a model that outputs the baseline's guess, measured."""
    task = tasks.make(name)
    inputs, targets = task.sample(20000, np.random.default_rng(0))
    T = inputs.shape[1]
    if name == "adding":
        outputs = np.full((len(targets), T, 1), 0.5)
    elif name == "sine":
        outputs = inputs.astype(np.float64)  # next = current
    elif name == "copy":
        outputs = np.zeros((len(targets), T, task.output_size))  # always symbol 0
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
