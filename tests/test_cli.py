"""The tinygrad-lstm command: training end to end, checkpoints, clear refusals."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main


def test_train_reports_metrics_and_saves_a_loadable_checkpoint(tmp_path, capsys):
    path = tmp_path / "sine.npz"
    assert (
        main(
            [
                "train",
                "sine",
                "--steps",
                "30",
                "--seq-len",
                "12",
                "--hidden",
                "8",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "held-out metrics" in out and "mse" in out and str(path) in out
    meta = tl.checkpoint.load_meta(path)
    assert meta["task"] == "sine" and meta["hidden"] == 8 and "mse" in meta["metrics"]
    model = tl.train.SequenceModel(tl.tasks.make("sine", seq_len=12), hidden=8)
    model.load_state_dict(tl.load(path))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nosuchtask"], "invalid choice"),
        (["train", "adding", "--steps", "0"], "positive integer"),
        (["train", "adding", "--seq-len", "99999999999999999999"], "below 2**31"),
        (["train", "adding", "--lr", "-1"], "positive number"),
        (["train", "adding", "--model", "transformer"], "invalid choice"),
        (["train", "adding", "--seq-len", "1", "--steps", "1"], "seq_len must be at least 2"),
        (["graph", "-o", "picture.bmp"], "unknown picture format"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "tinygrad_lstm", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout and "demo" in result.stdout


def fail(argv, capsys):
    """Run main(argv), which must refuse: (exit status, stderr, stdout)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    said = capsys.readouterr()
    return exit_info.value.code, said.err, said.out


def one_line(text):
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


QUICK = ["--steps", "1", "--seq-len", "6", "--hidden", "4", "--no-progress"]


def test_an_empty_checkpoint_path_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, err, _ = fail(["train", "sine", *QUICK, "--checkpoint", ""], capsys)
    assert status == 2 and "--checkpoint: expected a file path, got ''" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["a directory", "below a file"])
def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, where):
    (tmp_path / "file").write_bytes(b"keep")
    path = tmp_path if where == "a directory" else tmp_path / "file" / "model.npz"
    status, err, out = fail(["train", "sine", *QUICK, "--checkpoint", str(path)], capsys)
    line = one_line(err)
    assert status == 2 and line.startswith(f"tinygrad-lstm train: error: cannot write {str(path)!r}: ")
    assert "training" not in out  # refused before training began
    assert sorted(os.listdir(tmp_path)) == ["file"] and (tmp_path / "file").read_bytes() == b"keep"


def ctrl_c_as_in_a_terminal():  # (a runner started in the background passes SIGINT on ignored)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_and_press_ctrl_c(argv, wait_for):
    """Start the command, wait until it prints wait_for and a moment more, send SIGINT:
    (exit status, stdout, stderr, seconds it took to stop)."""
    command = subprocess.Popen(
        [sys.executable, "-u", "-m", "tinygrad_lstm", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    try:
        out = ""
        while wait_for not in out:
            line = command.stdout.readline()
            assert line, f"it ended before saying {wait_for!r}: {command.stderr.read()}"
            out += line
        time.sleep(0.5)  # well into training
        command.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        rest, err = command.communicate(timeout=30)
        return command.returncode, out + rest, err, time.perf_counter() - sent
    finally:
        command.kill()


def test_ctrl_c_during_train_saves_the_model_so_far_says_so_and_exits_130(tmp_path):
    path = tmp_path / "sine.npz"
    status, out, err, seconds = run_and_press_ctrl_c(
        [
            "train",
            "sine",
            "--steps",
            "1000000",
            "--seq-len",
            "12",
            "--hidden",
            "8",
            "--no-progress",
            "--checkpoint",
            str(path),
        ],
        wait_for="training lstm",
    )
    line = one_line(err)
    assert status == 130 and seconds < 1, (status, seconds)
    meta = tl.checkpoint.load_meta(path)
    step = meta["interrupted_at"]
    assert 0 < step < 1_000_000 and "metrics" not in meta and meta["task"] == "sine"
    assert line == (
        f"tinygrad-lstm train: training stopped by Ctrl-C after step {step}; the model so far is saved to {path}"
    )
    tl.train.SequenceModel(tl.tasks.make("sine", seq_len=12), hidden=8).load_state_dict(tl.load(path))
    assert os.listdir(tmp_path) == ["sine.npz"]


def test_ctrl_c_during_demo_stops_in_one_line_with_130():
    status, out, err, seconds = run_and_press_ctrl_c(["demo", "--no-progress"], wait_for="what does NAME do")
    line = one_line(err)
    assert status == 130 and seconds < 1, (status, seconds)
    assert line.startswith("tinygrad-lstm demo: training stopped by Ctrl-C after step ")


def test_without_dot_graph_says_what_to_install_and_that_a_dot_file_works(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status, err, _ = fail(["graph", "-o", str(tmp_path / "step.svg")], capsys)
    line = one_line(err)
    assert status == 1 and "apt-get install graphviz" in line and f"-o {tmp_path / 'step.dot'}" in line
    assert list(tmp_path.iterdir()) == []
    assert main(["graph", "-o", str(tmp_path / "step.dot")]) == 0
    assert (tmp_path / "step.dot").read_text().startswith("digraph")


def fake_dot(folder, script):
    """A `dot` program that runs script (sh), first on PATH."""
    folder.mkdir()
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_a_dot_that_hangs_is_stopped_after_the_timeout(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "exec sleep 60\n"))
    start = time.perf_counter()
    status, err, _ = fail(["graph", "-o", str(tmp_path / "step.svg"), "--timeout", "0.5"], capsys)
    line = one_line(err)
    assert status == 1 and time.perf_counter() - start < 10
    assert "did not finish within 0.5 s" in line and "--timeout" in line
    assert sorted(os.listdir(tmp_path)) == ["bin"]


def test_a_dot_that_fails_is_reported_in_one_line(tmp_path, monkeypatch, capsys):
    script = 'echo "Error: <stdin>: syntax error in line 1" >&2\necho "near x" >&2\nexit 3\n'
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", script))
    status, err, _ = fail(["graph", "-o", str(tmp_path / "step.png")], capsys)
    line = one_line(err)
    assert status == 1 and "dot failed (exit status 3): Error: <stdin>: syntax error in line 1 near x" in line
    assert sorted(os.listdir(tmp_path)) == ["bin"]


def test_out_of_memory_is_one_line(tmp_path, capsys):
    status, err, _ = fail(
        [
            "train",
            "adding",
            "--hidden",
            str(2 * 10**9),
            "--steps",
            "1",
            "--no-progress",
            "--checkpoint",
            str(tmp_path / "m.npz"),
        ],
        capsys,
    )
    line = one_line(err)
    assert status == 1 and line.startswith("tinygrad-lstm train: out of memory (Unable to allocate")
    assert "smaller model" in line and list(tmp_path.iterdir()) == []


def test_a_diverging_loss_is_one_line(tmp_path):
    # a real process: numpy's overflow warnings on the way to inf would reach its stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tinygrad_lstm",
            "train",
            "sine",
            "--lr",
            "1e30",
            "--steps",
            "30",
            "--seq-len",
            "6",
            "--hidden",
            "4",
            "--no-progress",
            "--checkpoint",
            str(tmp_path / "m.npz"),
        ],
        capture_output=True,
        text=True,
    )
    line = one_line(result.stderr)
    assert result.returncode == 1 and "the loss became" in line and "smaller lr" in line
    assert list(tmp_path.iterdir()) == []


def test_a_model_no_better_than_the_baseline_says_so_and_chance_is_shown(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "context",
                "--steps",
                "1",
                "--hidden",
                "4",
                "--no-progress",
                "--checkpoint",
                str(tmp_path / "c.npz"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "baseline 0.5000" in out and "chance 0.1250" in out
    assert "no better than the baseline" in out


def test_a_model_that_learned_does_not_say_it_did_not(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "sine",
                "--steps",
                "150",
                "--seq-len",
                "12",
                "--hidden",
                "8",
                "--no-progress",
                "--checkpoint",
                str(tmp_path / "s.npz"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "no better" not in out and "chance" not in out


def test_backward_by_hand_without_dot_says_what_to_install_in_one_line(tmp_path):
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "backward_by_hand.py"
    result = subprocess.run(
        [sys.executable, str(script), "--graph", str(tmp_path / "neuron.svg")],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    line = one_line(result.stderr)
    assert result.returncode == 1 and "apt-get install graphviz" in line
    assert f"--graph {tmp_path / 'neuron.dot'}" in line and list(tmp_path.iterdir()) == []


def test_ctrl_c_while_evaluating_still_saves_the_trained_model(tmp_path, monkeypatch, capsys):
    evaluate = tl.train.evaluate

    def pressed(*args, **kwargs):  # (the evaluation is finished first, and kept in the history)
        signal.raise_signal(signal.SIGINT)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(tl.train, "evaluate", pressed)
    path = tmp_path / "m.npz"
    status, err, _ = fail(["train", "sine", *QUICK, "--checkpoint", str(path)], capsys)
    line = one_line(err)
    assert (
        status == 130
        and line == f"tinygrad-lstm train: training stopped by Ctrl-C after step 1; the model so far is saved to {path}"
    )
    assert tl.checkpoint.load_meta(path)["interrupted_at"] == 1


def test_a_closed_output_cannot_lose_the_model(tmp_path):
    path = tmp_path / "m.npz"
    run = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_lstm", "train", "sine", *QUICK, "--checkpoint", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run.stdout.readline()
    run.stdout.close()  # as `| head -1` does: the report that follows finds no reader
    err = run.stderr.read().decode()
    assert run.wait() == 1 and "Traceback" not in err, err
    assert tl.checkpoint.load_meta(path)["task"] == "sine"


@pytest.mark.parametrize("timeout", ["1e7", "nan", "0"])
def test_a_bad_timeout_is_one_line(tmp_path, capsys, timeout):
    status, err, _ = fail(["graph", "-o", str(tmp_path / "g.svg"), "--timeout", timeout], capsys)
    assert status == 2 and "timeout" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ----- eval, sample, --plot, --version, --help ---------------------------------------------------


def held_out_report(out):
    """The lines of the held-out metrics, as train and eval print them."""
    lines = out.splitlines()
    start = lines.index("held-out metrics (1000 sequences never trained on):")
    return [line for line in lines[start:] if line.startswith(("held-out", "  ", "The model"))]


@pytest.fixture(scope="module")
def sine_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("sine") / "sine.npz"
    assert main(["train", "sine", *QUICK[2:], "--steps", "40", "--checkpoint", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def context_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("context") / "context.npz"
    assert main(["train", "context", "--steps", "3", "--hidden", "8", "--no-progress", "--checkpoint", str(path)]) == 0
    return path


def test_eval_prints_the_metrics_training_printed(tmp_path, capsys):
    path = tmp_path / "adding.npz"
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
                str(path),
            ]
        )
        == 0
    )
    trained = held_out_report(capsys.readouterr().out)
    assert main(["eval", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{path}: lstm (hidden 4, layers 1) on adding (seq-len 8), until validation accuracy "
        "0.99, trained 20 steps, lr 0.01, seed 0\n"
    )
    assert held_out_report(out) == trained and len(trained) >= 3  # the title, accuracy, mse
    metrics = tl.checkpoint.load_meta(path)["metrics"]
    assert trained[1].split()[:2] == ["accuracy", f"{metrics['accuracy']:.4f}"]


def test_sample_prints_held_out_examples_as_the_demo_does(sine_checkpoint, capsys):
    assert main(["sample", str(sine_checkpoint), "-n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "held-out examples:" and len(lines) == 4
    task = tl.tasks.make("sine", seq_len=6)
    model = tl.train.SequenceModel(task, hidden=4)
    model.load_state_dict(tl.load(sine_checkpoint))
    inputs, targets = task.sample(3, tl.train.held_out_stream(1), "test")
    outputs = tl.train.predict(model, inputs)
    assert lines[1:] == ["  " + task.describe(inputs, targets, outputs, k) for k in range(3)]
    assert lines[1].startswith("  after 6 samples: next ")


def test_sample_answers_a_sentence_as_the_model_answers_the_same_held_out_one(context_checkpoint, capsys):
    assert main(["sample", str(context_checkpoint), "-n", "2"]) == 0
    example = capsys.readouterr().out.splitlines()[1].strip()
    sentence, answer = example.split("  -> ")
    model_answer = answer.split()[0]
    assert main(["sample", str(context_checkpoint), "--text", sentence.replace(" ?", "?").upper()]) == 0
    assert capsys.readouterr().out == f"{sentence}  -> {model_answer}\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("ann is a coder . what does ann do ?", "--text: unknown words: ann; the model knows only these: . ? a ali "),
        ("mary is a cook, what does mary do?", "--text: unknown words: cook,; the model knows only these: "),
        ("", "--text: no words; the model knows only these: "),
    ],
)
def test_sample_refuses_unknown_words_naming_the_known_ones(context_checkpoint, capsys, text, message):
    status, err, out = fail(["sample", str(context_checkpoint), "--text", text], capsys)
    line = one_line(err)
    assert status == 2 and out == "" and line.startswith(f"tinygrad-lstm sample: error: {message}")
    assert line.endswith(" what yuki zoe") and "singer" in line


@pytest.mark.parametrize(
    "text",
    [
        " . ",
        "what does mary do ?",  # no fact
        "mary is a coder . what does lena do ?",  # about someone the facts do not name
        "mary is a coder . mary is a pilot . what does mary do ?",  # two jobs for one name
        "mary is a coder . what is a mary ?",
        "mary is a coder . lena is what does mary do ?",
    ],
)
def test_sample_refuses_text_that_is_not_a_question_it_can_answer(context_checkpoint, capsys, text):
    """Known words in another order would get an answer that means nothing."""
    status, err, out = fail(["sample", str(context_checkpoint), "--text", text], capsys)
    assert (
        status == 2
        and out == ""
        and one_line(err)
        == (
            'tinygrad-lstm sample: error: --text: expected facts "NAME is a JOB ." about different names, filler '
            'sentences if any, then "what does NAME do ?" about one of them, '
            'e.g. "mary is a coder . lena is a pilot . what does mary do ?"'
        )
    )
    for text in (
        "Mary is a coder. Lena is a pilot. The sky is blue. What does Lena do?",
        "mary is a coder . what does mary do ?",
    ):
        assert main(["sample", str(context_checkpoint), "--text", text]) == 0


def test_text_is_for_the_context_task_only(sine_checkpoint, capsys):
    status, err, _ = fail(["sample", str(sine_checkpoint), "--text", "what does mary do ?"], capsys)
    assert status == 2 and one_line(err).endswith(
        f"--text: only a model of the context task answers sentences; "
        f"{str(sine_checkpoint)!r} holds one of the sine task"
    )


def not_a_trained_model(folder):
    path = folder / "weights.npz"
    tl.save({"w": [1.0]}, path, meta={"note": "saved by hand"})
    return path


@pytest.mark.parametrize(
    "command", [["eval"], ["sample"], ["sample", "-n", "2"], ["train", "sine", "--steps", "1", "--resume"]]
)
@pytest.mark.parametrize(
    "what, message",
    [
        ("missing", "cannot read {path!r}: No such file or directory"),
        ("a folder", "cannot read {path!r}: Is a directory"),
        ("not a checkpoint", "{path!r} is not a tinygrad_lstm checkpoint: it is not a whole .npz file of plain arrays"),
        (
            "no model",
            "{path!r} holds no model `tinygrad-lstm train` saved (its metadata lacks task, model, hidden, "
            "layers, seq_len, lr, batch_size, seed, steps)",
        ),
        ("another model", "{path!r} holds a model this version cannot rebuild: load_state_dict into SequenceModel: "),
    ],
)
def test_a_file_that_is_no_trained_model_is_refused_in_one_line(
    tmp_path, capsys, sine_checkpoint, command, what, message
):
    path = {
        "missing": tmp_path / "nope.npz",
        "a folder": tmp_path / "folder",
        "not a checkpoint": tmp_path / "text.npz",
        "no model": not_a_trained_model(tmp_path),
        "another model": tmp_path / "other.npz",
    }[what]
    (tmp_path / "folder").mkdir()
    (tmp_path / "text.npz").write_text("hello")
    weights, meta, _ = tl.checkpoint.read(sine_checkpoint)
    tl.save(weights, tmp_path / "other.npz", meta={**meta, "hidden": 5})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    status, err, out = fail([*command, str(path)], capsys)
    assert status == 2 and out == ""
    assert one_line(err).startswith(f"tinygrad-lstm {command[0]}: error: " + message.format(path=str(path)))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("n", ["0", "-1", "two"])
def test_sample_needs_a_positive_count(sine_checkpoint, capsys, n):
    status, err, _ = fail(["sample", str(sine_checkpoint), "-n", n], capsys)
    assert status == 2 and "-n: expected a positive integer" in err


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_draws_the_training_curves_after_train_and_from_eval(sine_checkpoint, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    assert (
        main(
            ["train", "sine", *QUICK[2:], "--steps", "20", "--checkpoint", str(tmp_path / "m.npz"), "--plot", str(path)]
        )
        == 0
    )
    assert capsys.readouterr().out.endswith(f"training curves drawn in {path}\n")
    assert png_size(path) == (1000, 400)
    assert main(["eval", str(sine_checkpoint), "--plot", str(tmp_path / "again.svg")]) == 0
    assert (tmp_path / "again.svg").read_text().lstrip().startswith("<?xml")


def test_the_plot_shows_the_history_and_the_baseline():
    pytest.importorskip("matplotlib")
    from tinygrad_lstm.viz.plots import plot_history

    figure = plot_history([(5, 0.5), (10, 0.25)], [(10, {"accuracy": 0.75, "mse": 0.1})], "accuracy", 0.5)
    loss, metric = figure.axes
    assert list(loss.lines[0].get_xdata()) == [5, 10] and list(loss.lines[0].get_ydata()) == [0.5, 0.25]
    model, baseline = metric.lines
    assert list(model.get_ydata()) == [0.75] and list(baseline.get_ydata()) == [0.5, 0.5]
    assert metric.get_title() == "held-out accuracy" and baseline.get_label() == "baseline 0.5"


@pytest.mark.parametrize(
    "picture, status, message",
    [
        ("curves.bmp", 2, "--plot {path}: unknown picture format; use .png, .svg, .pdf"),
        ("curves.png", 1, "plots need matplotlib: pip install matplotlib"),
    ],
)
def test_a_plot_that_cannot_be_drawn_is_refused_before_training(
    tmp_path, monkeypatch, capsys, picture, status, message
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    path = tmp_path / picture
    code, err, out = fail(
        ["train", "sine", *QUICK, "--checkpoint", str(tmp_path / "m.npz"), "--plot", str(path)], capsys
    )
    assert code == status and one_line(err).startswith("tinygrad-lstm train: error: " + message.format(path=path))
    assert out == "" and list(tmp_path.iterdir()) == []


def test_eval_refuses_to_plot_a_checkpoint_without_history(tmp_path, capsys, sine_checkpoint):
    pytest.importorskip("matplotlib")
    weights, meta, _ = tl.checkpoint.read(sine_checkpoint)
    path = tmp_path / "old.npz"
    tl.save(weights, path, meta={k: v for k, v in meta.items() if k != "training"})
    status, err, _ = fail(["eval", str(path), "--plot", str(tmp_path / "c.png")], capsys)
    assert status == 2 and one_line(err).endswith(f"{str(path)!r} holds no training history to plot")
    assert os.listdir(tmp_path) == ["old.npz"]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"tinygrad-lstm {tl.__version__}\n"


def test_every_subcommand_says_what_it_does_and_every_option_its_default():
    import argparse

    parser = tl.cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == {"train", "eval", "sample", "demo", "graph", "cells"}
    for name, command in commands.choices.items():
        assert len(command.description) > 40, name
        for action in command._actions:
            if action.option_strings and action.nargs != 0 and action.dest not in ("resume", "plot", "text", "prime"):
                assert "(default" in action.help, (name, action.dest)  # (those four do nothing unless given)


@pytest.mark.parametrize("task, extra", [("copy", ["--seq-len", "4"]), ("context", ["--hidden", "16"])])
def test_train_compiled_by_default_and_eager_save_the_same_weights_to_rounding(tmp_path, capsys, task, extra):
    saved = {}
    for mode in ([], ["--eager"]):
        path = tmp_path / f"{task}{len(mode)}.npz"
        assert main(["train", task, "--steps", "12", "--no-progress", "--checkpoint", str(path), *extra, *mode]) == 0
        saved[len(mode)] = tl.load(str(path))
    compiled, eager = saved[0], saved[1]
    assert compiled.keys() == eager.keys()
    # The compiled step's passes add some sums in another order: its gradients are float32 rounding
    # apart from eager's, which Adam's normalised steps (lr * m / sqrt(v)) can grow to ~1e-5 in
    # 12 steps where a gradient is near 0. A wrong compile would be lr = 1e-2 apart.
    for k in compiled:
        np.testing.assert_allclose(compiled[k], eager[k], rtol=1e-3, atol=1e-4, err_msg=k)
    metrics = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert metrics and metrics[: len(metrics) // 2] == metrics[len(metrics) // 2 :]  # the same report, twice


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_writes_the_explorer_page_for_html(tmp_path):
    out = tmp_path / "step.html"
    assert main(["graph", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and "<svg" in page
