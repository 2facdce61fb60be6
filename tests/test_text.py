"""The text task: a character-level language model on any text; its held-out part, its metrics
against hand-computed ones, sampling, and the cells that learn to read."""

import contextlib
import io
import math
import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.tasks.text import BLOCK, Text, generate
from tinygrad_lstm.train import SequenceModel, Training, evaluate

PROSE = (
    'She said "hello (and goodbye)" to them.\nThe end of the line is here.\n   code = [1, 2, 3]  # an indented line\n'
) * 400  # 46 KB: every part holds windows


@pytest.fixture(scope="module")
def task():
    return Text(seq_len=16, text=PROSE)


def test_no_training_window_reaches_into_a_held_out_block(task):
    inputs, targets = task.sample(2000, np.random.default_rng(0))
    text = task.ids
    for part, k in (("train", 0), ("validation", 1), ("test", 2)):
        x, y = task.sample(300, np.random.default_rng(k), part)
        # find each window's start by its position: recompute from the stretches
        for lo, hi in task.stretches[part]:
            assert all(task.block_part[b] == k for b in range(lo // BLOCK, math.ceil(hi / BLOCK)))
        assert x.shape == y.shape == (300, 16)
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # the target is the next character
    starts = [s for s in range(len(text) - 16) if np.array_equal(text[s : s + 16], inputs[0])]
    assert starts and any(task.block_part[s // BLOCK] == 0 and task.block_part[(s + 16) // BLOCK] == 0 for s in starts)


def test_every_window_lies_inside_its_parts_blocks():
    task = Text(seq_len=8, text="".join(chr(ord("a") + k % 26) for k in range(60_000)))
    position = {}  # a window of this text is found by where it starts: every 26-letter run repeats
    for part, k in (("train", 0), ("validation", 1), ("test", 2)):
        for lo, hi in task.stretches[part]:
            assert lo % BLOCK == 0 and all(task.block_part[b] == k for b in range(lo // BLOCK, math.ceil(hi / BLOCK)))
            position.setdefault(part, []).append((lo, hi))
    assert sum(hi - lo for lo, hi in position["train"]) > 6 * sum(hi - lo for lo, hi in position["test"])


def test_the_metrics_and_baselines_are_those_computed_by_hand():
    task = Text(seq_len=4, text=PROSE)
    # bits per character: -log2 of the probability given to the right next character
    outputs = np.log(np.array([[[0.5, 0.25, 0.25] + [1e-300] * (len(task.vocab) - 3)] * 4]))
    targets = np.array([[0, 1, 0, 2]])
    bits = (1 + 2 + 1 + 2) / 4
    assert task.evaluate(outputs, targets)["bits_per_char"] == pytest.approx(bits)
    assert task.evaluate(outputs, targets)["perplexity"] == pytest.approx(2**bits)
    # the unigram baseline: the test part's cross-entropy under add-one training frequencies
    train = "".join(task.text[lo:hi] for lo, hi in task.stretches["train"])
    test = [task.text[k] for k in range(len(task.text)) if task.block_part[k // BLOCK] == 2]
    counts = {c: train.count(c) for c in task.vocab}
    total = len(train) + len(task.vocab)
    expected = -sum(math.log2((counts[c] + 1) / total) for c in test) / len(test)
    assert task.baseline()["bits_per_char"] == pytest.approx(expected, rel=1e-12)
    assert task.chance() == {"bits_per_char": math.log2(len(task.vocab)), "perplexity": len(task.vocab)}


def test_the_default_text_is_the_same_everywhere_and_says_where_it_comes_from():
    task = Text()
    assert task.source.startswith("Python's documentation topics") and len(task.text) == 465_048
    assert task.text.startswith('The "assert" statement\n')
    assert 4.5 < task.baseline()["bits_per_char"] < 4.9 and len(task.vocab) == 103


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary", "NUL bytes: it looks binary"),
        (b"caf\xe9 latin-1", "is not UTF-8"),
        (b"too short", "too short"),
    ],
)
def test_a_text_file_that_cannot_serve_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        Text(path=path)


def test_a_missing_file_or_a_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Text(path=tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        Text(path=tmp_path)


@pytest.fixture(scope="module")
def trained(task):
    tl.manual_seed(0)
    model = SequenceModel(task, hidden=32, embedding=8)
    Training(task, model, lr=1e-2, seed=0, batch_size=16).run(150, log_every=150)
    return model


def test_a_short_training_beats_the_unigram_baseline(task, trained):
    assert evaluate(task, trained)["bits_per_char"] < task.baseline()["bits_per_char"] - 1


def test_generate_writes_after_the_prime_and_refuses_unseen_characters(task, trained):
    text = generate(trained, task, "She said ", 40, temperature=0)
    assert text.startswith("She said ") and len(text) == 49
    assert generate(trained, task, "She said ", 40, temperature=0) == text  # the likeliest: no randomness
    warm = [generate(trained, task, "The ", 30, temperature=1.0, seed=s) for s in (0, 0, 1)]
    assert warm[0] == warm[1] != warm[2]
    with pytest.raises(ValueError, match=r"never saw the characters 'Z', 'é'"):
        generate(trained, task, "Zé", 5)
    for bad, error in ((-1, ValueError), (1.5, ValueError)):
        with pytest.raises(error, match="n must be an integer"):
            generate(trained, task, "The", bad)
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        generate(trained, task, "The", 3, temperature=-1)
    with pytest.raises(TypeError, match="temperature must be a number"):
        generate(trained, task, "The", 3, temperature="hot")


def test_generation_carries_the_state_as_one_long_forward_pass_does(task, trained):
    # greedy generation, one character at a time, is what the model predicts reading the whole
    # text at once: the state is carried, not restarted
    text = generate(trained, task, "She said ", 20, temperature=0)
    logits = trained(task.encode(text)[None, :-1]).numpy()[0]
    predicted = "".join(task.vocab[k] for k in logits.argmax(axis=-1))
    assert predicted[len("She said ") - 1 :] == text[len("She said ") :]


def test_text_cells_finds_a_unit_per_property_with_its_correlation(task, trained, tmp_path):
    from tinygrad_lstm.viz.text_cells import PROPERTIES, correlations, text_cells

    found = text_cells(trained, task, chars=300, measure_chars=2000)
    assert set(found.found) == set(PROPERTIES)
    held_out = "\n".join(task.text[lo:hi] for lo, hi in task.stretches["test"])[:2000]
    cells = tl.viz.plots.lstm_values(trained, task.encode(held_out)[None], ("c",))["c"][0]
    for name, (unit, r, _) in found.found.items():
        all_r = correlations(PROPERTIES[name][1](held_out), cells.astype(np.float64))
        assert abs(r) == pytest.approx(np.abs(all_r).max()) and all_r[unit] == pytest.approx(r)
    found.save(tmp_path / "cells.html")
    page = (tmp_path / "cells.html").read_text()
    assert page.count('class="property"') == len(PROPERTIES) and "<script" not in page and "http" not in page
    with pytest.raises(ValueError, match="use .html or .png"):
        found.save(tmp_path / "cells.txt")
    with pytest.raises(ValueError, match="needs an LSTM model"):
        text_cells(SequenceModel(task, kind="gru", hidden=4, embedding=2), task)


def test_correlations_are_pearsons_r():
    rng = np.random.default_rng(0)
    values, cells = rng.standard_normal(50), rng.standard_normal((50, 3))
    cells[:, 2] = 3 * values + 1
    expected = [np.corrcoef(values, cells[:, k])[0, 1] for k in range(3)]
    from tinygrad_lstm.viz.text_cells import correlations

    np.testing.assert_allclose(correlations(values, cells), expected, rtol=1e-12)
    assert correlations(np.ones(50), cells).tolist() == [0.0, 0.0, 0.0]


# ----- the command line -------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A short `train text --text FILE` run: (its folder, the text file, the checkpoint, what it printed)."""
    from tinygrad_lstm.cli import main

    folder = tmp_path_factory.mktemp("text_run")
    (folder / "prose.txt").write_text(PROSE)
    argv = ["train", "text", "--text", str(folder / "prose.txt"), "--steps", "60", "--hidden", "24", "--lr", "1e-2"]
    argv += ["--seq-len", "16", "--no-progress", "--checkpoint", str(folder / "t.npz")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return folder, folder / "prose.txt", folder / "t.npz", out.getvalue()


def cli(argv, capsys):
    from tinygrad_lstm.cli import main

    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def test_train_text_reports_bits_per_char_and_eval_gives_the_same(run, capsys):
    folder, _, checkpoint, printed = run
    trained = float(re.search(r"bits_per_char\s+([\d.]+)", printed)[1])
    baseline = float(re.search(r"bits_per_char\s+[\d.]+\s+\(baseline ([\d.]+)", printed)[1])
    assert trained < baseline - 0.5  # (60 steps on a repeated text: far below the unigram)
    status, out, _ = cli(["eval", checkpoint], capsys)
    assert status == 0 and float(re.search(r"bits_per_char\s+([\d.]+)", out)[1]) == trained
    assert "prose.txt'; seq-len 16" in out


def test_sample_writes_n_characters_after_the_prime(run, capsys):
    _, _, checkpoint, _ = run
    status, out, _ = cli(["sample", checkpoint, "--prime", "She said", "-n", 30, "--temperature", 0], capsys)
    assert status == 0 and out.startswith("She said") and len(out.rstrip("\n")) == len("She said") + 30
    assert cli(["sample", checkpoint, "--prime", "She said", "-n", 30, "--temperature", 0], capsys)[1] == out
    drawn = [cli(["sample", checkpoint, "--prime", "T", "--seed", s], capsys)[1] for s in (1, 1, 2)]
    assert drawn[0] == drawn[1] != drawn[2] and len(drawn[0].rstrip("\n")) == 1 + 200


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--prime", "Zé"], "--prime: the model never saw the characters 'Z', 'é'"),
        (["--prime", ""], "--prime: give at least one character"),
        (["--temperature", "0.5"], "--temperature: it is for writing from --prime"),
        (["--prime", "T", "--temperature", "-1"], "expected a number >= 0"),
        (["--text", "what does mary do ?"], "only a model of the context task answers sentences"),
    ],
)
def test_sample_refuses_what_cannot_be_written(run, capsys, extra, message):
    status, _, err = cli(["sample", run[2], *extra], capsys)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_text_options_with_other_tasks_are_refused(tmp_path, capsys):
    status, _, err = cli(["train", "adding", "--text", tmp_path / "x.txt", "--checkpoint", tmp_path / "a.npz"], capsys)
    assert status == 2 and "--text: only the text task reads a text file" in err
    assert not (tmp_path / "a.npz").exists()
    cli(["train", "copy", "--steps", 1, "--no-progress", "--checkpoint", tmp_path / "c.npz"], capsys)
    status, _, err = cli(["sample", tmp_path / "c.npz", "--prime", "ab"], capsys)
    assert status == 2 and "--prime: only a model of the text task writes" in err
    status, _, err = cli(["cells", tmp_path / "c.npz", "-o", tmp_path / "c.html"], capsys)
    assert status == 2 and "cells reads the cell states of an LSTM of the text task" in err


@pytest.mark.parametrize("make", ["missing", "directory", "binary", "short"])
def test_a_text_file_that_cannot_serve_is_refused_before_training(tmp_path, capsys, make):
    path = tmp_path / "text.txt"
    if make == "directory":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(b"\x00\x01" * 50_000)
    elif make == "short":
        path.write_text("too short")
    status, _, err = cli(["train", "text", "--text", path, "--checkpoint", tmp_path / "t.npz"], capsys)
    assert status == 2 and "text.txt" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.npz").exists()


def test_a_checkpoint_knows_its_text_from_any_folder_and_refuses_it_changed_or_gone(run, tmp_path, capsys, monkeypatch):
    folder, text, checkpoint, _ = run
    copy = tmp_path / "t.npz"
    copy.write_bytes(checkpoint.read_bytes())
    moved = tmp_path / "prose.txt"
    monkeypatch.chdir(tmp_path.parent)  # (the checkpoint keeps the text's absolute path)
    assert cli(["eval", copy], capsys)[0] == 0
    status, _, err = cli(["train", "text", "--resume", copy, "--text", moved, "--steps", 1], capsys)
    assert status == 2 and "no such file" in err  # (moved is not there)
    (tmp_path / "other.txt").write_text(PROSE.upper())
    status, _, err = cli(["train", "text", "--resume", copy, "--text", tmp_path / "other.txt", "--steps", 1], capsys)
    assert status == 2 and "it is not the text" in err
    text.write_text(PROSE + "more")
    try:
        status, _, err = cli(["eval", copy], capsys)
        assert status == 2 and "which has changed since" in err
        text.unlink()
        status, _, err = cli(["sample", copy, "--prime", "T"], capsys)
        assert status == 2 and "was trained on a text that cannot be read now" in err and "no such file" in err
    finally:
        text.write_text(PROSE)


def test_resuming_a_text_run_is_bit_identical_to_one_that_never_stopped(run, tmp_path, capsys):
    _, text, _, _ = run
    common = ["--text", text, "--hidden", 8, "--seq-len", 8, "--no-progress"]
    cli(["train", "text", *common, "--steps", 10, "--checkpoint", tmp_path / "whole.npz"], capsys)
    cli(["train", "text", *common, "--steps", 4, "--checkpoint", tmp_path / "half.npz"], capsys)
    status, _, _ = cli(["train", "text", "--resume", tmp_path / "half.npz", "--steps", 6, "--no-progress"], capsys)
    assert status == 0
    whole, half = (np.load(tmp_path / f"{n}.npz") for n in ("whole", "half"))
    for name in whole.files:
        if not name.startswith("__"):
            np.testing.assert_array_equal(whole[name], half[name], err_msg=name)


def test_cells_writes_the_page_and_the_picture_and_names_each_unit(run, tmp_path, capsys):
    _, _, checkpoint, _ = run
    status, out, _ = cli(["cells", checkpoint, "-o", tmp_path / "cells.html", "--chars", 200], capsys)
    assert status == 0 and (tmp_path / "cells.html").stat().st_size > 0
    from tinygrad_lstm.viz.text_cells import PROPERTIES

    for name in PROPERTIES:
        assert re.search(rf"^  {re.escape(name)}\s+unit\s+\d+\s+r [+-]\d\.\d\d", out, re.M), name
    status, _, err = cli(["cells", checkpoint, "-o", tmp_path / "cells.svg"], capsys)
    assert status == 2 and "use .html or .png" in err and not (tmp_path / "cells.svg").exists()
    pytest.importorskip("matplotlib")
    assert cli(["cells", checkpoint, "-o", tmp_path / "cells.png"], capsys)[0] == 0
    assert (tmp_path / "cells.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cells_page_in_a_browser_colours_each_character_by_its_units_cell_state(task, trained, tmp_path, browser):
    from tinygrad_lstm.viz.text_cells import PROPERTIES, text_cells

    found = text_cells(trained, task, chars=300, measure_chars=2000)
    found.save(tmp_path / "cells.html")
    browser.get((tmp_path / "cells.html").as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    sections = browser.find_elements("css selector", "section.property")
    assert [s.get_attribute("data-property") for s in sections] == list(PROPERTIES)
    for section in sections:
        unit, r = int(section.get_attribute("data-unit")), float(section.get_attribute("data-r"))
        assert (unit, r) == pytest.approx(found.found[section.get_attribute("data-property")][:2], abs=1e-4)
        spans = section.find_elements("css selector", ".text span")
        assert len(spans) == len(found.passage) and all(s.is_displayed() for s in spans[:5])
        values = found.shown(unit, r)
        for k in (int(np.argmax(values)), int(np.argmin(values))):  # the reddest and the bluest character
            red, green, blue = map(int, re.findall(r"\d+", spans[k].value_of_css_property("background-color"))[:3])
            assert (red > blue) if values[k] > 0 else (blue > red)
            c = float(spans[k].get_attribute("title").split("=")[1])
            assert c == pytest.approx(found.cells[k, unit], abs=1e-3)


# ----- what an outside probe found ----------------------------------------------------------


def test_a_model_of_another_alphabet_is_refused_by_evaluate_generate_and_cells(task):
    from tinygrad_lstm.viz.text_cells import text_cells

    other = SequenceModel(Text(seq_len=8), hidden=4, embedding=2)  # (the default text: 103 characters)
    for call in (lambda: evaluate(task, other), lambda: generate(other, task, "She", 3)):
        with pytest.raises(ValueError, match=rf"103 .*{len(task.vocab)}|{len(task.vocab)} .*103"):
            call()
    with pytest.raises(ValueError, match="103"):
        text_cells(other, task)


def test_generate_refuses_what_is_not_a_text_model_or_a_seed(task, trained):
    from tinygrad_lstm import tasks

    sine = tasks.make("sine")
    with pytest.raises(TypeError, match="generate: model must be"):
        generate(SequenceModel(sine, hidden=4), task, "She", 3)
    with pytest.raises(TypeError, match="generate: model must be"):
        generate(task, task, "She", 3)
    with pytest.raises(TypeError, match="generate: task must be"):
        generate(trained, sine, "She", 3)
    with pytest.raises(ValueError, match="generate: seed must be an integer >= 0"):
        generate(trained, task, "She", 3, seed=-1)


def test_a_tiny_temperature_takes_the_likeliest_character_as_zero_does(task, trained):
    greedy = generate(trained, task, "She said ", 30, temperature=0)
    for tiny in (5e-324, 1e-300, 1e-30):
        assert generate(trained, task, "She said ", 30, temperature=tiny) == greedy


def test_a_hopeless_model_has_an_infinite_perplexity_not_an_error(task):
    outputs = np.zeros((1, 2, len(task.vocab)))
    outputs[..., 0] = 1e6  # certain of character 0, and wrong
    metrics = task.evaluate(outputs, np.array([[1, 1]]))
    assert metrics["bits_per_char"] > 1e6 and metrics["perplexity"] == math.inf


def test_text_cells_reads_each_held_out_stretch_apart_and_needs_no_newline():
    from tinygrad_lstm.viz.text_cells import _cell_states, text_cells

    line = "".join(f'word "{k}" (x) ' for k in range(9000))  # one long line: no "\n" anywhere
    one_line = Text(seq_len=8, text=line)
    tl.manual_seed(0)
    model = SequenceModel(one_line, hidden=8, embedding=4)
    found = text_cells(model, one_line, chars=100, measure_chars=3000)
    assert "\n" not in found.passage and found.measured_on == 3000
    # each stretch from a zero state: the cells of the first stretch alone are the first rows
    lo, hi = one_line.stretches["test"][0]
    first = one_line.text[lo:hi][:3000]
    expected = _cell_states(model, one_line, first)
    measured = found.measured_cells
    np.testing.assert_array_equal(measured[: len(first)], expected)


def test_text_cells_says_when_a_rule_is_constant_over_the_measured_text():
    from tinygrad_lstm.viz.text_cells import text_cells

    flat = Text(seq_len=8, text="no quotes and no brackets here, on one line " * 1500)
    tl.manual_seed(0)
    found = text_cells(SequenceModel(flat, hidden=4, embedding=2), flat, chars=80, measure_chars=2000)
    unit, r, _ = found.found["inside quotes"]
    assert unit is None and math.isnan(r)
    assert "the rule is the same for every measured character" in found.html()


def test_text_cells_refuses_an_empty_passage(task, trained):
    from tinygrad_lstm.viz.text_cells import text_cells

    with pytest.raises(ValueError, match="text_cells: passage must be a non-empty str"):
        text_cells(trained, task, passage="")


def test_a_text_of_one_character_is_refused():
    with pytest.raises(ValueError, match="only one distinct character"):
        Text(seq_len=4, text="a" * 50_000)


def test_a_byte_order_mark_is_not_a_character_of_the_text(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + PROSE.encode())
    assert Text(seq_len=16, path=tmp_path / "bom.txt").vocab == Text(seq_len=16, text=PROSE).vocab


@pytest.mark.parametrize("path", [123, ["a.txt"]])
def test_a_path_of_the_wrong_type_is_refused_naming_it(path):
    with pytest.raises(TypeError, match="text: path must be a file name"):
        Text(path=path)


def test_the_messages_read_as_english(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match=r"text: '.*empty.txt' is empty"):
        Text(path=tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="its validation and test parts hold no window"):
        Text(seq_len=4, text="ab" * 10)


def test_sample_refuses_text_beside_prime(run, capsys):
    status, _, err = cli(["sample", run[2], "--prime", "T", "--text", "what does mary do ?"], capsys)
    assert status == 2 and "--text" in err and "--prime" in err


def test_cells_chars_below_two_is_refused_by_the_parser(run, capsys):
    status, _, err = cli(["cells", run[2], "--chars", 1], capsys)
    assert status == 2 and "--chars" in err and "at least 2" in err


def test_a_moved_text_is_found_again_by_its_content(run, tmp_path, capsys):
    _, text, checkpoint, _ = run
    copy = tmp_path / "t.npz"
    copy.write_bytes(checkpoint.read_bytes())
    moved = tmp_path / "moved.txt"
    moved.write_text(PROSE)
    text.rename(tmp_path / "gone.txt")
    try:
        status, _, err = cli(["eval", copy], capsys)
        assert status == 2 and "--text" in err  # (it says how to point at the text where it is now)
        assert cli(["eval", copy, "--text", moved], capsys)[0] == 0
        assert cli(["cells", copy, "--text", moved, "-o", tmp_path / "c.html"], capsys)[0] == 0
        status, out, _ = cli(
            ["train", "text", "--resume", copy, "--text", moved, "--steps", 1, "--no-progress"], capsys
        )
        assert status == 0
        assert cli(["eval", copy], capsys)[0] == 0  # (the resumed run's checkpoint keeps the new path)
        moved.write_text(PROSE + "changed")
        status, _, err = cli(["eval", copy, "--text", moved], capsys)
        assert status == 2 and "not the text" in err
    finally:
        (tmp_path / "gone.txt").rename(text)


def test_a_text_edited_into_one_that_cannot_serve_is_said_to_have_changed(run, tmp_path, capsys):
    _, text, checkpoint, _ = run
    copy = tmp_path / "t.npz"
    copy.write_bytes(checkpoint.read_bytes())
    text.write_text("too short now")
    try:
        status, _, err = cli(["eval", copy], capsys)
        assert status == 2 and "cannot rebuild" not in err and "too short" in err and "prose.txt" in err
    finally:
        text.write_text(PROSE)


def test_text_cells_compares_with_the_same_network_untrained(task):
    from tinygrad_lstm.random import seeded
    from tinygrad_lstm.viz.text_cells import text_cells

    with seeded(0):  # (the network text_cells compares with: the same sizes, built from seed 0)
        untrained = SequenceModel(task, hidden=16, embedding=4)
    found = text_cells(untrained, task, chars=200, measure_chars=2000)
    for name, (_, r, _) in found.found.items():
        assert r == found.untrained[name]
    assert "nothing learned" in found.html() or "no unit follows it well" in found.html()
    before = tl.random.generator().bit_generator.state
    text_cells(untrained, task, chars=200, measure_chars=2000)
    assert tl.random.generator().bit_generator.state == before  # (the caller's draws are not moved)


def test_inside_quotes_counts_straight_and_curly_quotes():
    from tinygrad_lstm.viz.text_cells import _quoted

    assert _quoted('a "b" \u201cc\u201d d').tolist() == [0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0]


def test_the_cells_shown_in_a_notebook_keep_their_style_to_themselves(task):
    from tinygrad_lstm.random import seeded
    from tinygrad_lstm.viz.text_cells import text_cells

    with seeded(1):
        model = SequenceModel(task, hidden=8, embedding=4)
    fragment = text_cells(model, task, chars=100, measure_chars=1000)._repr_html_()
    styles = re.search(r"<style>(.*?)</style>", fragment, re.S)[1]
    selectors = [rule.split("{")[0].strip() for rule in styles.split("}") if "{" in rule]
    assert selectors and all(s.startswith(".tl-text-cells") for s in selectors)
    assert "<html" not in fragment and "<body" not in fragment


def test_text_cells_gives_each_units_forget_gate_at_line_breaks_and_elsewhere(task, trained):
    from tinygrad_lstm.viz.plots import lstm_values
    from tinygrad_lstm.viz.text_cells import text_cells

    found = text_cells(trained, task, chars=200, measure_chars=2000)
    lo, hi = task.stretches["test"][0]
    piece = task.text[lo:hi][:2000]  # (PROSE's first test stretch is longer than 2000 characters)
    f = lstm_values(trained, task.encode(piece)[None], ("f",))["f"][0]
    at_break = np.array([ch == "\n" for ch in piece])
    for name, (unit, _, _) in found.found.items():
        if unit is not None:
            assert found.forget[name] == pytest.approx((f[at_break, unit].mean(), f[~at_break, unit].mean()))
