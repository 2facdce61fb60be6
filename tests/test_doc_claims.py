"""The numbers the docs quote still hold.

Generated blocks (`<!-- output of: CMD -->`, made by docs/regenerate.py) say which command
and which machine made them. The claims written in prose ("matches torch.nn.LSTM to 1e-6")
are listed in CLAIMS, each with a check that measures it now: a tolerance claim that no
check covers, or one whose check fails, fails here. The demo's accuracies quoted in README
are compared with a run of the demo."""

import contextlib
import importlib.util
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lstm as tl

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = re.compile(r"<!-- output of: (.*?) -->\n(.*?)<!-- end of output -->", re.S)


def prose(path):
    """The text of a doc outside its generated blocks."""
    return GENERATED.sub("", path.read_text())


def test_every_generated_block_names_its_command_and_machine():
    blocks = [(path, command, body) for path in DOCS for command, body in GENERATED.findall(path.read_text())]
    assert len(blocks) >= 10
    for path, command, body in blocks:
        assert body.strip(), f"{path.name}: {command}: not made yet (python docs/regenerate.py fills it)"
        assert f"$ {command}" in body, (path.name, command)
        for failure in ("Traceback (most recent call last)", "can't open file", "No module named"):
            assert failure not in body, f"{path.name}: {command} failed when it was run: {failure}"
        assert re.search(r"<sub>measured on .+, \d{4}-\d\d-\d\d: `python docs/regenerate.py", body), (
            path.name,
            command,
        )
        script = re.search(r"(\S+\.py)", command)
        if script and "/" in script[1]:
            assert (ROOT / script[1]).exists(), (path.name, command)


# ----- tolerance claims in prose, each with a check that measures it -----------------------------


def lstm_matches_torch(tolerance):
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    ours = tl.nn.LSTM(3, 5)
    theirs = torch.nn.LSTM(3, 5)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.tensor(p.numpy()))
    x = np.random.default_rng(0).standard_normal((7, 2, 3)).astype(np.float32)
    out = ours(x)[0]
    (out**2).sum().backward()
    xt = torch.tensor(x)
    out_t = theirs(xt)[0]
    (out_t**2).sum().backward()
    assert np.abs(out.numpy() - out_t.detach().numpy()).max() <= tolerance
    for name, p in ours.named_parameters():
        assert np.abs(p.grad.numpy() - getattr(theirs, name).grad.numpy()).max() <= tolerance * 10


def keras_page_agreement(tolerance):
    """The page's code run as written, then its two models' outputs compared unrounded."""
    pytest.importorskip("torch")
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported earlier with the {keras.backend.backend()} backend")
    page = (ROOT / "docs" / "keras.md").read_text()
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for code in re.findall(r"```python\n(.*?)```", page, re.S):
            exec(compile(code, "docs/keras.md", "exec"), namespace)
        x = namespace["x"]
        theirs = namespace["keras_model"].predict(x, verbose=0).ravel()
    ours = namespace["our_model"](x).numpy().ravel()
    assert np.abs(theirs - ours).max() <= tolerance


def keras_tests_hold(tolerance):
    text = (ROOT / "tests" / "test_keras.py").read_text()
    written = f"{tolerance:.0e}".replace("e-0", "e-")  # 1e-5, as the tests write it
    assert text.count(f"atol={written}") >= 2  # ours against Keras, and Keras against ours


def hessian_vector_product_agrees(tolerance):
    spec = importlib.util.spec_from_file_location("second_order", ROOT / "examples" / "second_order.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    worst, _ = module.main()
    assert worst <= tolerance


CLAIMS = {
    ("tutorial.md", "against finite differences and against\n`torch.nn.LSTM` to 1e-6"): (lstm_matches_torch, 1e-6),
    ("keras.md", "The two agree to about 1e-8"): (keras_page_agreement, 1e-7),
    ("keras.md", "tests hold every recurrent layer to 1e-5 both ways"): (keras_tests_hold, 1e-5),
    ("second_order.md", "(they agree to about 1e-10)"): (hessian_vector_product_agrees, 1e-9),
}


def test_every_tolerance_claim_in_prose_has_a_check():
    found = set()
    for path in DOCS:
        text = prose(path)
        for match in re.finditer(r"1e-\d+", text):
            sentence = text[max(0, match.start() - 120) : match.end() + 20]
            if re.search(r"agree|match|to 1e-|hold", sentence):
                covered = [quote for name, quote in CLAIMS if name == path.name and quote in text]
                assert any(text.index(quote) <= match.start() < text.index(quote) + len(quote) for quote in covered), (
                    f"{path.name}: a claim with no check in CLAIMS: ...{sentence}..."
                )
                found.add(path.name)
    for name, quote in CLAIMS:
        assert quote in prose(ROOT / ("README.md" if name == "README.md" else f"docs/{name}")), (name, quote)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")  # Keras's own np.array calls under numpy 2
@pytest.mark.parametrize("claim", list(CLAIMS), ids=[f"{name}: {quote[-30:]}" for name, quote in CLAIMS])
def test_the_claim_holds_now(claim):
    check, tolerance = CLAIMS[claim]
    check(tolerance)


# ----- the demo's accuracies as README quotes them ----------------------------------------------


def test_the_demo_accuracies_readme_quotes_are_what_the_demo_gives(capsys):
    from tinygrad_lstm.cli import main

    readme = (ROOT / "README.md").read_text()
    (block,) = [body for command, body in GENERATED.findall(readme) if command.strip().endswith("demo --no-progress")]
    quoted = dict(re.findall(r"^(LSTM|plain RNN)\s+([\d.]+)% of 1000 held-out", block, re.M))
    assert set(quoted) == {"LSTM", "plain RNN"}
    assert main(["demo", "--no-progress"]) == 0
    now = dict(re.findall(r"^(LSTM|plain RNN)\s+([\d.]+)% of 1000 held-out", capsys.readouterr().out, re.M))
    for model, value in quoted.items():  # (another CPU's BLAS may round a few sums otherwise: a sentence or two)
        assert abs(float(now[model]) - float(value)) <= 1.0, (model, value, now[model])
