"""Every notebook in docs/notebooks runs top to bottom in a fresh kernel without an error, and
keeps the outputs that code gives (so it reads on a code host without running)."""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks need the test extra: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebooks need the test extra: pip install -e '.[test]'")

HERE = Path(__file__).resolve().parent.parent / "docs" / "notebooks"
NOTEBOOKS = sorted(HERE.glob("*.ipynb"))


def test_there_are_the_five_lessons():
    assert [p.name[0] for p in NOTEBOOKS] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_in_a_fresh_kernel_and_keeps_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert sum(bool(cell.outputs) for cell in code) >= len(code) // 2, "outputs not kept: run make_notebooks.py"
    kinds = {key for cell in code for output in cell.outputs for key in output.get("data", {})}
    if not path.name.startswith("5"):  # (5 compares numbers with Keras and PyTorch: no picture)
        assert kinds & {"image/png", "image/svg+xml", "text/html"}, "a lesson shows pictures or pages"
    kept = [cell.outputs for cell in code]
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    # The outputs were kept with every library installed; a cell that compares with one that is
    # missing here says so instead of printing numbers, so its outputs differ, as they should.
    missing = [name for name in ("torch", "keras") if importlib.util.find_spec(name) is None]
    if any(f"import {name}" in cell.source for name in missing for cell in code):
        return
    for before, cell in zip(kept, code):
        assert [o.output_type for o in before] == [o.output_type for o in cell.outputs]  # the same kinds of output
