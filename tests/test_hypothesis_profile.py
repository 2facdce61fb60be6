"""The hypothesis tests draw the same examples on every run: the suite's profile (tests/conftest.py)
derandomizes them, and no test file sets a profile, a seed or derandomize of its own."""

import importlib
import pathlib
import re

import conftest
import pytest

settings = pytest.importorskip("hypothesis").settings

TESTS = pathlib.Path(__file__).resolve().parent
USERS = sorted(
    p
    for p in TESTS.glob("test_*.py")
    if p.name != pathlib.Path(__file__).name and re.search(r"^\s*(from|import) hypothesis", p.read_text(), re.MULTILINE)
)

derandomized_run = pytest.mark.skipif(
    not settings.default.derandomize, reason="HYPOTHESIS_PROFILE=explore: random examples asked for"
)


def test_the_suites_profile_derandomizes_without_a_database():
    if conftest.HYPOTHESIS_PROFILE == "ci":
        assert settings.default.derandomize and settings.default.database is None
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None


def test_the_header_says_how_examples_are_drawn():
    class Config:
        def getoption(self, name, default=None):
            return 4242 if name == "hypothesis_seed" else default

    header = conftest.pytest_report_header(Config())
    if settings.default.derandomize:
        assert "derandomize=True" in header and "same examples on every run" in header
    else:
        assert "seed 4242" in header and "--hypothesis-seed=4242" in header


def test_the_hypothesis_users_are_known():
    """(A new file that uses hypothesis is checked by the tests below as soon as it exists.)"""
    assert {"test_ops_gradcheck.py", "test_ops_torch.py"} <= {p.name for p in USERS}


@pytest.mark.parametrize("path", USERS, ids=lambda p: p.name)
def test_no_test_file_sets_its_own_profile_or_seed(path):
    text = path.read_text()
    for forbidden in ("load_profile(", "register_profile(", "derandomize=", "@seed(", "hypothesis.seed", "database="):
        assert forbidden not in text, f"{path.name} sets {forbidden!r}: leave it to tests/conftest.py"


@derandomized_run
@pytest.mark.parametrize("path", USERS, ids=lambda p: p.name)
def test_every_given_test_runs_derandomized(path):
    try:
        module = importlib.import_module(path.stem)
    except pytest.skip.Exception:  # its own importorskip (torch): its tests do not run either
        pytest.skip(f"{path.name} is skipped here")
    given_tests = [f for name, f in vars(module).items() if name.startswith("test_") and hasattr(f, "hypothesis")]
    assert given_tests, f"{path.name} imports hypothesis but has no @given test"
    for test in given_tests:
        used = getattr(test, "_hypothesis_internal_use_settings", settings.default)
        assert used.derandomize, f"{path.name}::{test.__name__} draws new examples on each run"
        assert used.database is None, f"{path.name}::{test.__name__} replays examples from earlier runs"
