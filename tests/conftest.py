"""Shared by every test file."""

import os
import shutil
import signal

import pytest

try:
    from hypothesis import settings
except ImportError:  # (a test extra: the files that use it fail on their own import)
    settings = None

# Hypothesis draws the same examples on every run, on every machine: derandomize=True derives
# each test's random stream from the test itself, and with no example database a run does not
# depend on the runs before it. One profile for the whole suite, loaded here, before any test
# file is imported (test files set only their own max_examples and health checks, never a
# profile or derandomize). HYPOTHESIS_PROFILE=explore draws new examples on every run, to
# search by hand; a failure prints its example and how to reproduce it, and with
# --hypothesis-seed=N (printed in the header) a whole run repeats.
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if settings is not None:
    settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
    settings.register_profile("explore", derandomize=False, database=None, deadline=None, print_blob=True)
    settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_report_header(config):
    if settings is None:
        return "hypothesis: not installed"
    if settings.default.derandomize:
        return (
            f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, derandomize=True: the same examples on every run "
            "(each test's own seed, derived from the test)"
        )
    seed = config.getoption("hypothesis_seed", None)
    return f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, derandomize=False: " + (
        f"seed {seed} (--hypothesis-seed={seed} repeats this run)"
        if seed is not None
        else "new examples on every run (a failure prints how to reproduce it)"
    )


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises_keyboard_interrupt():
    """Python's own Ctrl-C handling, whatever the runner started with: a process started in the
    background by a shell inherits SIGINT ignored, and the Ctrl-C tests would then see nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by selenium (CI installs both; elsewhere the test skips)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed: pip install -e '.[test]'")
    if not (shutil.which("chromium") and shutil.which("chromedriver")) and not os.environ.get("CI"):
        pytest.skip("no browser: apt-get install chromium chromium-driver (CI installs them and runs these)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")), options=options
    )
    yield driver
    driver.quit()


@pytest.fixture
def ctrl_c_at_evaluation(monkeypatch):
    """press(n): Ctrl-C is pressed during the n-th held-out evaluation training makes from then on
    (monkeypatch.undo() lets training evaluate in peace again)."""
    import tinygrad_lstm as tl

    def press(n):
        evaluate, calls = tl.train.evaluate, []

        def pressing(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                signal.raise_signal(signal.SIGINT)
            return evaluate(*args, **kwargs)

        monkeypatch.setattr(tl.train, "evaluate", pressing)

    return press
