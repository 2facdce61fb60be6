"""README's "Use" section runs as written: every python block in it, in order, in one namespace."""

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def use_blocks():
    text = README.read_text()
    section = text[text.index("## Use\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
def test_the_use_section_runs_verbatim(tmp_path, monkeypatch):
    blocks = use_blocks()
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert (tmp_path / "lstm.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert namespace["x"].grad.shape == (3, 4) and len(namespace["rows"]) == 3
    pytest.importorskip("torch")
    exec(compile(blocks[1], "README.md", "exec"), namespace)
    torch_state = namespace["torch_lstm"].state_dict()
    for name, value in namespace["lstm"].state_dict().items():
        assert (value == torch_state[name].numpy()).all()
