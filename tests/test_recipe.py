"""Held out means held out, and the training recipe: a validation stream, a curriculum, a
learning-rate schedule, stop-when-solved; each resumable to the bit."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import checkpoint, tasks
from tinygrad_lstm.cli import main
from tinygrad_lstm.tasks.base import PARTS, part_of
from tinygrad_lstm.tasks.context import JOBS, NAMES
from tinygrad_lstm.train import SequenceModel, Training, evaluate

SMALL = [
    ("adding", dict(seq_len=12)),
    ("copy", dict(seq_len=5)),
    ("context", dict(seq_len=3)),
    ("sine", dict(seq_len=8)),
]


# ----- the split ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, options", SMALL)
def test_every_key_falls_in_one_part_and_every_part_has_some(name, options):
    keys = tasks.make(name, **options).key_space()
    parts = part_of(keys)
    counts = np.bincount(parts, minlength=3)
    assert counts.sum() == len(keys) and len(np.unique(keys, axis=0)) == len(keys)
    assert all(counts > 0) and counts[0] > 0.7 * len(keys)  # 8 in 10 train, 1 in 10 each held out


@pytest.mark.parametrize("name, options", SMALL)
def test_what_training_draws_never_holds_a_held_out_key(name, options):
    """By enumeration: every key the training stream drew in 20000 sequences is a training key,
    and the validation and test draws only their own."""
    task = tasks.make(name, **options)
    rng = np.random.default_rng(0)
    for k, part in enumerate(PARTS):
        inputs, targets = task.sample(20000 if part == "train" else 3000, rng, part)
        assert len(inputs) == len(targets) == (20000 if part == "train" else 3000)
        assert np.all(part_of(task.keys(inputs, targets)) == k), part


def test_held_out_context_sentences_pair_facts_no_training_sentence_pairs():
    """Read from the words themselves: the facts (who has which job, in order) of test and
    validation sentences never occur in 50000 training sentences, and training sees most of its
    own fact combinations: held out is a test of binding names to jobs on new combinations."""
    task = tasks.make("context", seq_len=1)
    rng = np.random.default_rng(1)

    def facts(part, n):
        inputs, _ = task.sample(n, rng, part)
        return {tuple(task.decode(row).split()[:10]) for row in inputs}

    training = facts("train", 50000)
    for part in ("validation", "test"):
        held = facts(part, 5000)
        assert held and not held & training, part
    assert len(training) > 0.7 * (len(NAMES) * (len(NAMES) - 1)) ** 2  # 3136 combinations in all


def test_evaluate_scores_test_sequences_and_validation_checks_validation_ones(monkeypatch):
    task, model = context_model()
    drawn = {}
    sample = type(task).sample

    def recording(self, n, rng, part="train"):
        drawn.setdefault(part, 0)
        drawn[part] += n
        return sample(self, n, rng, part)

    monkeypatch.setattr(type(task), "sample", recording)
    evaluate(task, model, n=50)
    assert drawn == {"test": 50}
    Training(task, model, batch_size=4, until=1.0, validate_every=2, validation_size=30).run(2)
    assert drawn == {"test": 50, "train": 8, "validation": 30}


def test_a_task_too_small_to_hold_some_out_is_refused():
    with pytest.raises(ValueError, match="copy: its 2 distinct sequences .* too few to hold some out"):
        tasks.make("copy", n_symbols=2, length=1)


@pytest.mark.parametrize(
    "bad, error",
    [
        (dict(n=-1), "n must be an integer >= 0"),
        (dict(n=2.0), "n must be"),
        (dict(n=3, part="held"), "part must be one of train, validation, test"),
    ],
)
def test_sample_refuses_a_bad_count_or_part(bad, error):
    with pytest.raises(ValueError, match=error):
        tasks.make("adding", seq_len=4).sample(rng=np.random.default_rng(0), **bad)


def test_sample_of_none_is_empty_with_the_right_shapes():
    for name, options in SMALL:
        task = tasks.make(name, **options)
        inputs, targets = task.sample(0, np.random.default_rng(0), "test")
        full_in, full_out = task.sample(1, np.random.default_rng(0), "test")
        assert inputs.shape[1:] == full_in.shape[1:] and targets.shape[1:] == full_out.shape[1:] and len(inputs) == 0


# ----- the recipe ---------------------------------------------------------------------------


def context_model(seed=0, seq_len=4, hidden=8, kind="lstm"):
    task = tasks.make("context", seq_len=seq_len)
    tl.manual_seed(seed)
    return task, SequenceModel(task, kind=kind, hidden=hidden, embedding=8)


def Scripted(values):
    """A stand-in for Training.validate: the given values, one per check, as the stage's metric."""
    values = list(values)

    def validate(training):
        return {training.stage_task.metric: values.pop(0)}

    return validate


def test_the_curriculum_moves_on_at_the_mark_or_after_stage_steps(monkeypatch):
    task, model = context_model(seq_len=4)
    assert [t.seq_len for t in task.easier()] == [0, 2]
    monkeypatch.setattr(Training, "validate", Scripted([0.5, 0.99, 0.2, 0.3, 0.4, 0.995]))
    run = Training(task, model, batch_size=2, curriculum=True, stage_steps=3, validate_every=1, until=0.995)
    run.run(20)
    # stage 0 passes its mark (0.99) at step 2; stage 1 never does and is left after its 3 steps
    assert run.stage_starts == [(0, 0), (2, 1), (5, 2)]
    assert [s for s, _, _ in run.validation] == [1, 2, 3, 4, 5, 6]
    assert run.solved_at == 6 and run.step == 6 and run.finished
    assert run.run(5) == run.losses and run.step == 6  # a solved run trains no more


def test_each_stage_trains_on_its_own_task(monkeypatch):
    task, model = context_model(seq_len=4)
    monkeypatch.setattr(Training, "validate", Scripted([1.0, 1.0, 0.0]))
    run = Training(task, model, batch_size=2, curriculum=True, validate_every=1)
    lengths = []
    original = run._loss
    run._loss = lambda inputs, targets: lengths.append(inputs.shape[1]) or original(inputs, targets)
    run.run(3)
    assert lengths == [15, 25, 35]  # 0, 2, then 4 filler sentences of 5 words


def test_stage_steps_may_be_given_per_stage_and_is_checked(monkeypatch):
    task, model = context_model(seq_len=4)
    monkeypatch.setattr(Training, "validate", Scripted([0.0] * 6))
    run = Training(task, model, batch_size=2, curriculum=True, stage_steps=[1, 4], validate_every=1)
    run.run(6)
    assert run.stage_starts == [(0, 0), (1, 1), (5, 2)]
    with pytest.raises(ValueError, match="stage_steps must give one number for each of the 2 easier stages, got 1"):
        Training(task, model, curriculum=True, stage_steps=[3])
    with pytest.raises(ValueError, match=r"stage_steps\[1\] must be a positive integer"):
        Training(task, model, curriculum=True, stage_steps=[3, 0])


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (dict(curriculum="yes"), TypeError, "curriculum must be True, False or a list of tasks"),
        (dict(schedule="cosine"), ValueError, "schedule must be one of constant, plateau"),
        (dict(until=float("nan")), ValueError, "until must be a value of the task's accuracy"),
        (dict(until="0.9"), TypeError, "until must be"),
        (dict(validate_every=0), ValueError, "validate_every must be a positive integer"),
        (dict(validation_size=-5), ValueError, "validation_size must be a positive integer"),
        (dict(stage_steps=0), ValueError, "stage_steps must be a positive integer"),
    ],
)
def test_bad_recipes_are_refused_naming_the_argument(bad, error, message):
    task, model = context_model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=message):
        Training(task, model, **bad)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_plateau_schedule_halves_the_lr_as_torchs_reduce_lr_on_plateau():
    torch = pytest.importorskip("torch")
    metrics = [0.5, 0.6, 0.6, 0.59, 0.6, 0.6, 0.61, 0.61, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7] + [0.7] * 12
    ours = tl.optim.Adam([tl.nn.Parameter(np.zeros(2))], lr=0.01)
    schedule = tl.optim.ReduceLROnPlateau(ours, mode="max", factor=0.5, patience=3, min_lr=0.01 / 100)
    theirs = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.01)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(
        theirs, mode="max", factor=0.5, patience=3, min_lr=0.01 / 100
    )
    lrs = []
    for value in metrics:
        schedule.step(value)
        reference.step(value)
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12)
        lrs.append(ours.lr)
    assert min(lrs) < 0.01 / 4  # it did halve, more than once


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(mode="up"), "mode must be 'max' or 'min'"),
        (dict(factor=1.0), "factor must be a number in"),
        (dict(patience=-1), "patience must be an integer >= 0"),
        (dict(min_lr=-1), "min_lr must be positive or 0"),
    ],
)
def test_the_plateau_schedule_refuses_bad_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        tl.optim.ReduceLROnPlateau(tl.optim.SGD([tl.nn.Parameter(np.zeros(1))], lr=0.1), **bad)


def test_until_stops_at_the_check_that_reaches_it_and_metrics_lower_is_better(monkeypatch):
    task = tasks.make("sine", seq_len=6)
    tl.manual_seed(0)
    model = SequenceModel(task, hidden=4)
    monkeypatch.setattr(Training, "validate", Scripted([0.5, 0.2, 0.01, 0.001]))
    run = Training(task, model, until=0.02, validate_every=5, schedule="plateau")
    run.run(100)
    assert run.solved_at == 15 and run.step == 15 and run.losses[-1][0] == 15


def resumable(seed=1):
    task, model = context_model(seed=seed, seq_len=2, hidden=6)
    model.rnn.dropout = 0.0
    return Training(
        task,
        model,
        lr=3e-2,
        batch_size=8,
        seed=seed,
        curriculum=True,
        stage_steps=6,
        schedule="plateau",
        until=0.999,
        validate_every=3,
        validation_size=40,
    )


def test_a_recipe_run_saved_mid_curriculum_and_resumed_is_the_run_that_never_stopped(tmp_path):
    straight = resumable()
    straight.run(30, log_every=1, evaluate_every=10)
    assert len(straight.stage_starts) == 2  # it crossed a stage boundary
    first = resumable()
    first.run(5, log_every=1, evaluate_every=10)  # stops mid stage 0, between checks
    arrays, state = first.state()
    checkpoint.save(first.model.state_dict(), tmp_path / "m.npz", meta={"training": state}, training=arrays)

    resumed = resumable(seed=1)
    weights, meta, training = checkpoint.read(tmp_path / "m.npz")
    resumed.model.load_state_dict(weights)
    resumed.load_state(training, meta["training"])
    resumed.run(25, log_every=1, evaluate_every=10)
    resumed.held_out = [h for h in resumed.held_out if h[0] != 5]  # (the first run also evaluated at its last step)
    for (name, a), (_, b) in zip(resumed.model.state_dict().items(), straight.model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert resumed.state()[1] == straight.state()[1]  # stages, validation, schedule, streams, history


def test_a_saved_state_with_a_stage_this_run_lacks_is_refused():
    run = resumable()
    run.run(2)
    arrays, state = run.state()
    other = Training(*context_model(seed=1, seq_len=2, hidden=6))  # no curriculum: one stage
    with pytest.raises(ValueError, match="its stages is 2; expected this run's 1"):
        other.load_state(arrays, state)
    del state["stages"]  # (as a checkpoint saved before the number of stages was kept)
    with pytest.raises(ValueError, match="its stage is 1; expected one of this run's 1 curriculum stages"):
        other.load_state(arrays, {**state, "stage": 1})


# ----- the command line ---------------------------------------------------------------------


def test_train_with_a_recipe_prints_where_it_stopped_and_saves_its_phases(tmp_path, capsys):
    path = tmp_path / "c.npz"
    assert (
        main(
            [
                "train",
                "context",
                "--seq-len",
                "2",
                "--hidden",
                "8",
                "--steps",
                "40",
                "--stage-steps",
                "10",
                "--until",
                "0.999",
                "--schedule",
                "plateau",
                "--validate-every",
                "5",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "curriculum seq-len 0 first, lr schedule plateau, until validation accuracy 0.999" in out
    assert "validation accuracy did not reach 0.999" in out
    meta = checkpoint.load_meta(path)
    assert meta["curriculum"] is True and meta["until"] == 0.999 and meta["schedule"] == "plateau"
    assert [k for _, k in meta["training"]["stage_starts"]] == [0, 1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--until", "abc"], "argument --until: expected a value of the task's metric, or none, got 'abc'"),
        (["--until", "nan"], "argument --until: expected a value of the task's accuracy in (0, 1], got nan"),
        (["--until", "-inf"], "argument --until: expected a value of the task's accuracy in (0, 1], got -inf"),
        (["--stage-steps", "0"], "expected a positive integer"),
        (["--schedule", "cosine"], "invalid choice"),
        (["--threads", "0"], "expected a positive integer"),
    ],
)
def test_bad_recipe_options_exit_2_naming_them(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["train", "context", "--checkpoint", str(tmp_path / "c.npz"), *argv])
    assert info.value.code == 2 and message in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_until_none_trains_every_step(tmp_path, capsys):
    path = tmp_path / "c.npz"
    assert (
        main(
            [
                "train",
                "context",
                "--seq-len",
                "0",
                "--hidden",
                "4",
                "--steps",
                "3",
                "--until",
                "none",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    assert "trained all 3 steps" in capsys.readouterr().out and checkpoint.load_meta(path)["until"] is None


def test_threads_sets_numpys_blas_threads_within_the_command(monkeypatch, tmp_path):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []
    real = Training.run

    def run(self, *args, **kwargs):
        seen.append({p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"})
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Training, "run", run)
    for threads in ("1", "2"):
        assert (
            main(
                [
                    "train",
                    "sine",
                    "--seq-len",
                    "4",
                    "--hidden",
                    "4",
                    "--steps",
                    "1",
                    "--no-progress",
                    "--threads",
                    threads,
                    "--checkpoint",
                    str(tmp_path / "s.npz"),
                ]
            )
            == 0
        )
    assert seen == [{1}, {2}]


def test_resuming_a_solved_run_says_there_is_nothing_left(tmp_path, capsys, monkeypatch):
    path = tmp_path / "c.npz"
    monkeypatch.setattr(Training, "validate", Scripted([1.0]))
    assert (
        main(
            [
                "train",
                "context",
                "--seq-len",
                "0",
                "--hidden",
                "4",
                "--steps",
                "500",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    assert "validation accuracy reached 0.995 at step 100" in capsys.readouterr().out
    before = path.read_bytes()
    with pytest.raises(SystemExit) as info:
        main(["train", "context", "--resume", str(path), "--no-progress"])
    assert info.value.code == 2
    assert "its run stopped at step 100, when validation reached --until 0.995" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_the_plot_shades_the_curriculums_phases_and_marks_the_solved_step():
    pytest.importorskip("matplotlib")
    from tinygrad_lstm.viz.plots import plot_history

    figure = plot_history(
        [(1, 1.0), (30, 0.5)],
        [(30, {"accuracy": 0.9})],
        "accuracy",
        0.5,
        validation=[(10, 0, 0.99), (20, 1, 0.6), (30, 1, 0.995)],
        stages=[(0, "seq-len 0"), (10, "seq-len 8")],
        solved_at=30,
        until=0.995,
    )
    loss, metric = figure.axes
    assert [t.get_text() for t in metric.texts] == ["seq-len 0", "seq-len 8"]
    assert len(metric.patches) == 2 and any(line.get_label() == "solved at step 30" for line in metric.lines)
    assert [line.get_label() for line in metric.lines][:2] == [
        "test (reported)",
        "validation, of the stage trained then",
    ]


def test_the_demo_shows_the_lstm_remembering_and_the_rnn_not(capsys):
    """The whole demo, seed 0: the LSTM at 97% or more of held-out sentences, the plain RNN at 75%
    or less, trained at least as many steps on the same stream, each line naming its model."""
    assert main(["demo", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    report = {
        line.split("%")[0].rsplit(None, 1)[0].strip(): line
        for line in lines
        if " of 1000 held-out sentences right" in line
    }
    assert set(report) == {"LSTM", "plain RNN"}
    accuracy = {name: float(line.split("%")[0].split()[-1]) for name, line in report.items()}
    steps = {name: int(line.split("(")[1].split()[0]) for name, line in report.items()}
    assert accuracy["LSTM"] >= 97 and accuracy["plain RNN"] <= 75, accuracy
    assert steps["plain RNN"] >= steps["LSTM"]
    assert "no better than the baseline: it did not learn whose job is whose" in "\n".join(lines)
    jobs = [line for line in lines if line.startswith("  ") and " ... what does " in line]
    assert len(jobs) == 4 and all(any(job in line for job in JOBS) for line in jobs)


def test_a_run_with_no_validation_check_says_so_not_that_it_failed_one(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "adding",
                "--seq-len",
                "8",
                "--steps",
                "20",
                "--hidden",
                "4",
                "--no-progress",
                "--checkpoint",
                str(tmp_path / "a.npz"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "curriculum" not in out.splitlines()[0]  # seq-len 8 has no shorter form
    assert "no validation check in 20 steps (one every 100)" in out


def test_the_plain_rnn_on_the_context_task_gets_its_own_learning_rate_by_default(tmp_path, capsys):
    for model, lr in (("rnn", "0.001"), ("gru", "0.01"), ("lstm", "0.01")):
        assert (
            main(
                [
                    "train",
                    "context",
                    "--model",
                    model,
                    "--seq-len",
                    "0",
                    "--hidden",
                    "4",
                    "--steps",
                    "1",
                    "--no-progress",
                    "--checkpoint",
                    str(tmp_path / f"{model}.npz"),
                ]
            )
            == 0
        )
        assert f", lr {lr}, seed 0" in capsys.readouterr().out.splitlines()[0]
        assert checkpoint.load_meta(tmp_path / f"{model}.npz")["lr"] == float(lr)
