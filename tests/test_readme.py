"""README's "Use" section runs as written: every python block in it, in order, in one namespace."""

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def use_blocks():
    text = README.read_text()
    section = text[text.index("## Use\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
def test_the_use_section_runs_verbatim(tmp_path, monkeypatch):
    blocks = use_blocks()
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert (tmp_path / "lstm.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<svg" in (tmp_path / "step.html").read_text()  # the explorer page, one file
    assert namespace["x"].grad.shape == (3, 4) and len(namespace["rows"]) == 3
    pytest.importorskip("torch")
    exec(compile(blocks[1], "README.md", "exec"), namespace)
    torch_state = namespace["torch_lstm"].state_dict()
    for name, value in namespace["lstm"].state_dict().items():
        assert (value == torch_state[name].numpy()).all()


def test_the_tutorials_try_it_block_runs_verbatim():
    text = (README.parent / "docs" / "tutorial.md").read_text()
    section = text[text.index("## 6. Try it") :]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:1]
    namespace = {}
    exec(compile(block, "docs/tutorial.md", "exec"), namespace)
    assert len(namespace["f"]) == 5 and namespace["lstm"].weight_hh_l0.grad is not None
