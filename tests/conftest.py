"""Shared by every test file."""

import signal

import pytest


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises_keyboard_interrupt():
    """Python's own Ctrl-C handling, whatever the runner started with: a process started in the
    background by a shell inherits SIGINT ignored, and the Ctrl-C tests would then see nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
