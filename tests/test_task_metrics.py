"""Each task's metric on a tiny batch written out by hand, and each stated baseline pinned to a
number worked out by hand: neither is read back from the task's own constants, so a changed
tolerance, scored step or formula shows here (test_tasks_train.py measures the baselines by
simulation, with the task's own code on both sides)."""

import numpy as np
import pytest

from tinygrad_lstm import tasks


def one_hot_scores(guesses, size):
    """Scores (B, T, size) whose argmax at each step is guesses[b, t] (a clear winner, 0.9 against
    at most 0.2, so no tie decides anything)."""
    guesses = np.asarray(guesses)
    scores = np.tile(np.linspace(0.2, -0.2, size), guesses.shape + (1,))
    np.put_along_axis(scores, guesses[..., None], 0.9, axis=-1)
    return scores


# ----- adding: accuracy within 0.04 and mse, at the last step only ----------------------------


def test_adding_metric_by_hand():
    task = tasks.make("adding", seq_len=4)
    targets = np.array([0.52, 0.25, 0.70, 0.61, 0.500, 0.500])
    answers = np.array([0.50, 0.30, 0.80, 0.61, 0.539, 0.459])
    outputs = np.full((6, 4, 1), 99.0)  # the steps before the last do not count
    outputs[:, -1, 0] = answers
    # |errors|: 0.02, 0.05, 0.10, 0.00, 0.039, 0.041; below 0.04: 0.02, 0.00, 0.039 -> 3 of 6
    # mse = (0.02^2 + 0.05^2 + 0.1^2 + 0 + 0.039^2 + 0.041^2) / 6
    #     = (0.0004 + 0.0025 + 0.01 + 0 + 0.001521 + 0.001681) / 6 = 0.016102 / 6 = 0.0026836667
    metrics = task.evaluate(outputs, targets)
    assert sorted(metrics) == ["accuracy", "mse"]
    assert metrics["accuracy"] == pytest.approx(0.5, abs=1e-12)
    assert metrics["mse"] == pytest.approx(0.016102 / 6, rel=1e-9)


def test_adding_tolerance_is_0_04_either_side_in_float32():
    """As the model answers: float32. 0.039 off counts, 0.041 off does not, above or below."""
    task = tasks.make("adding", seq_len=2)
    targets = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)
    outputs = np.array([0.539, 0.461, 0.541, 0.459], dtype=np.float32).reshape(4, 1, 1)
    outputs = np.concatenate([np.zeros_like(outputs), outputs], axis=1)
    # errors 0.039, 0.039, 0.041, 0.041 -> 2 of 4 within 0.04
    assert task.evaluate(outputs, targets)["accuracy"] == 0.5


def test_adding_baseline_is_always_answering_one_half():
    """Answering 0.5: |error| = |x1 + x2| / 4 with x1 + x2 triangular on [-2, 2], and
    P(|x1 + x2| >= a) = (2 - a)^2 / 4. Solved within 0.04, i.e. |x1 + x2| < 0.16:
    accuracy = 1 - (2 - 0.16)^2 / 4 = 1 - 1.84^2 / 4 = 1 - 3.3856 / 4 = 1 - 0.8464 = 0.1536
    (= 1 - (1 - 0.08)^2); mse = Var(x1 + x2) / 16 = (1/3 + 1/3) / 16 = 1/24 = 0.041666..."""
    task = tasks.make("adding", seq_len=50)
    assert sorted(task.baseline()) == ["accuracy", "mse"]
    assert task.baseline()["accuracy"] == pytest.approx(0.1536, abs=1e-12)
    assert task.baseline()["mse"] == pytest.approx(0.0416666666667, abs=1e-12)
    assert task.metric == "accuracy" and task.chance() == {}


def test_adding_baseline_on_a_hand_batch():
    """Answering 0.5 to targets 0.5 + (x1 + x2)/4 written out: |x1 + x2| = 0.1, 0.2, 1.0, 0.0 give
    errors 0.025, 0.05, 0.25, 0: two of four within 0.04; mse = (0.000625 + 0.0025 + 0.0625 + 0) / 4
    = 0.065625 / 4 = 0.01640625."""
    task = tasks.make("adding", seq_len=2)
    targets = np.array([0.525, 0.45, 0.75, 0.5])
    outputs = np.full((4, 2, 1), 0.5)
    metrics = task.evaluate(outputs, targets)
    assert metrics["accuracy"] == 0.5
    assert metrics["mse"] == pytest.approx(0.01640625, rel=1e-9)


# ----- copy: symbols right, and whole sequences right, over the last `length` steps ----------


def test_copy_metric_by_hand():
    task = tasks.make("copy", seq_len=2, n_symbols=4, length=2)  # 2 symbols + 2 blanks + cue + 1 = 6 steps
    targets = np.array([[0, 2], [1, 1], [3, 0]])
    guesses = np.array(
        [
            [1, 1, 1, 1, 0, 2],  # answers (0, 2): both right
            [0, 0, 0, 0, 1, 0],  # answers (1, 0): one of two
            [0, 0, 0, 0, 0, 1],
        ]
    )  # answers (0, 1): none
    # (the first four steps' guesses, all wrong or right by accident, must not count)
    # symbols right: 2 + 1 + 0 = 3 of 6 = 0.5; sequences right: 1 of 3
    metrics = task.evaluate(one_hot_scores(guesses, 4), targets)
    assert sorted(metrics) == ["accuracy", "sequences"]
    assert metrics["accuracy"] == 0.5
    assert metrics["sequences"] == pytest.approx(1 / 3, abs=1e-15)


def test_copy_baseline_is_guessing_symbols():
    """Guessing one of n symbols: right 1/n of the time; a whole sequence of `length`: (1/n)^length.
    Default 5 symbols, 4 long: 0.2 and 0.2^4 = 0.0016; 4 symbols, 3 long: 0.25 and 0.25^3 = 0.015625."""
    default = tasks.make("copy")
    assert default.baseline() == {
        "accuracy": pytest.approx(0.2, abs=1e-15),
        "sequences": pytest.approx(0.0016, abs=1e-15),
    }
    assert tasks.make("copy", n_symbols=4, length=3).baseline() == {
        "accuracy": pytest.approx(0.25, abs=1e-15),
        "sequences": pytest.approx(0.015625, abs=1e-15),
    }
    assert default.metric == "accuracy" and default.chance() == {}


# ----- context: the job asked for, at the last step --------------------------------------------


def test_context_metric_by_hand():
    task = tasks.make("context", seq_len=0, n_facts=2)  # 2 facts of 5 words + a question of 5 = 15 steps
    targets = np.array([1, 3, 0, 7])
    guesses = np.zeros((4, 15), dtype=np.int64)
    guesses[:, :-1] = targets[:, None]  # right at every step but the last: does not count
    guesses[:, -1] = [1, 2, 0, 5]  # right, wrong, right, wrong: 2 of 4
    metrics = task.evaluate(one_hot_scores(guesses, 8), targets)
    assert metrics == {"accuracy": 0.5}


def test_context_baseline_and_chance():
    """Picking one of the n_facts mentioned jobs: 1/n_facts (2 facts: 0.5, 3: 1/3, 4: 0.25);
    any of the 8 jobs: 1/8 = 0.125."""
    assert tasks.make("context").baseline() == {"accuracy": 0.5}
    assert tasks.make("context", n_facts=3).baseline() == {"accuracy": pytest.approx(1 / 3, abs=1e-15)}
    assert tasks.make("context", n_facts=4).baseline() == {"accuracy": 0.25}
    assert tasks.make("context", n_facts=4).chance() == {"accuracy": 0.125}
    assert tasks.make("context").metric == "accuracy"


# ----- sine: mse over the second half ----------------------------------------------------------


def test_sine_metric_by_hand():
    task = tasks.make("sine", seq_len=4)  # scored from step 4 // 2 = 2: steps 2 and 3
    outputs = np.array([[9.0, 9.0, 0.5, 0.2], [-9.0, 9.0, -0.1, 0.0]])[:, :, None]
    targets = np.array([[0.0, 0.0, 0.4, 0.5], [0.0, 0.0, 0.1, -0.2]])
    # differences 0.1, -0.3, -0.2, 0.2 -> squares 0.01, 0.09, 0.04, 0.04 -> mean 0.18 / 4 = 0.045
    metrics = task.evaluate(outputs, targets)
    assert sorted(metrics) == ["mse"]
    assert metrics["mse"] == pytest.approx(0.045, rel=1e-12)


def test_sine_metric_of_an_odd_length_scores_from_the_floor_of_half():
    task = tasks.make("sine", seq_len=5)  # 5 // 2 = 2: steps 2, 3 and 4
    outputs = np.array([[7.0, 7.0, 0.3, 0.0, -0.6]])[:, :, None]
    targets = np.array([[0.0, 0.0, 0.0, 0.0, 0.0]])
    # squares 0.09, 0, 0.36 -> mean 0.45 / 3 = 0.15
    assert task.evaluate(outputs, targets)["mse"] == pytest.approx(0.15, rel=1e-12)


def test_sine_baseline_is_next_equals_current():
    """Repeating the current sample: over a uniform phase, E[(sin(t + w) - sin t)^2] = 1 - cos w,
    and over w uniform on [0.1, 0.6] E[cos w] = (sin 0.6 - sin 0.1) / 0.5
    = (0.5646424733950354 - 0.0998334166468282) / 0.5 = 0.4648090567482072 / 0.5 = 0.9296181134964144,
    so mse = 1 - 0.9296181134964144 = 0.0703818865035856."""
    task = tasks.make("sine")
    assert task.baseline() == {"mse": pytest.approx(0.0703818865035856, abs=1e-12)}
    assert task.metric == "mse" and task.chance() == {}


def test_every_task_has_its_hand_pinned_baseline_here():
    """A new task gets its hand-worked tests in this file too."""
    assert sorted(tasks.TASKS) == ["adding", "context", "copy", "sine", "text"]


def test_text_bits_per_char_by_hand():
    """The model gives the right next character probability 1/2, 1/4, 1/2, 1/4: -log2 of each is
    1, 2, 1, 2 bits, so bits_per_char = 6/4 = 1.5 and perplexity = 2**1.5."""
    task = tasks.make("text", seq_len=4, text="abc" * 20_000)
    scores = np.log(np.array([[[0.5, 0.25, 0.25]] * 4]))
    metrics = task.evaluate(scores, np.array([[0, 1, 0, 2]]))
    assert metrics == {"bits_per_char": pytest.approx(1.5, abs=1e-12), "perplexity": pytest.approx(2**1.5)}


def test_text_unigram_baseline_by_hand():
    """Each block of 2000 characters is one letter: "a" where the split trains, "b" where it
    tests, "c" where it validates. The training part then counts N a's and no b, so with one added
    to each count p(b) = 1 / (N + 3), and every test character costs log2(N + 3) bits."""
    from tinygrad_lstm.tasks.base import part_of

    blocks = 40
    parts = part_of(np.arange(blocks)[:, None])
    text = "".join("acb"[k] * 2000 for k in parts)
    n_train = 2000 * int((parts == 0).sum())
    task = tasks.make("text", seq_len=4, text=text)
    assert task.baseline()["bits_per_char"] == pytest.approx(np.log2(n_train + 3), abs=1e-12)
    assert task.chance() == {"bits_per_char": pytest.approx(np.log2(3)), "perplexity": 3.0}
