"""docs/keras.md runs as written, and prints what it shows."""

import contextlib
import io
import os
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
sys.path.insert(0, str(DOCS))
NUMBER = r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?"


def blocks(text):
    """[(python code, the text block that follows it, or None)], in order."""
    found = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    return [
        (code, found[k + 1][1] if k + 1 < len(found) and found[k + 1][0] == "text" else None)
        for k, (kind, code) in enumerate(found)
        if kind == "python"
    ]


def same_output(printed, shown, tolerance):
    """The same words, and numbers within tolerance: the last printed digit may differ by machine."""
    numbers = [re.findall(NUMBER, s) for s in (printed, shown)]
    words = [re.sub(NUMBER, "#", s).split() for s in (printed, shown)]
    return (
        words[0] == words[1]
        and len(numbers[0]) == len(numbers[1])
        and all(abs(float(a) - float(b)) <= tolerance for a, b in zip(*numbers))
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")  # Keras's own np.array calls under numpy 2
def test_the_keras_page_runs_and_prints_what_it_shows():
    pytest.importorskip("torch")
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported earlier with the {keras.backend.backend()} backend")
    namespace = {}
    shown = 0
    for code, output in blocks((DOCS / "keras.md").read_text()):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "docs/keras.md", "exec"), namespace)
        if output is not None:
            assert same_output(printed.getvalue(), output, tolerance=2e-6), (printed.getvalue(), output)
            shown += 1
    assert shown == 2


def test_the_refusal_the_keras_page_shows_is_the_one_given():
    import tinygrad_lstm as tl

    with pytest.raises(ValueError) as info:
        tl.nn.LSTM(1, 50, num_layers=2).load_keras_weights(tl.nn.GRU(1, 50).keras_weights())
    assert f"```text\n{info.value}\n```" in (DOCS / "keras.md").read_text()


def test_the_engine_reading_guide_links_the_lines_it_names():
    """docs/engine.md's links say [`name`](../file.py#La-Lb): name spans exactly lines a to b."""
    import regenerate  # docs/regenerate.py: `python docs/regenerate.py --links` sets them again

    text = (DOCS / "engine.md").read_text()
    links = regenerate.LINE_LINK.findall(text)
    assert len(links) >= 12
    for name, path, first, last in links:
        spans = regenerate.definitions(DOCS.parent / path)
        assert spans.get(name) == (int(first), int(last)), (name, path, spans.get(name))
