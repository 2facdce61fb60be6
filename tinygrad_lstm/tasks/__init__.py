"""Seeded toy sequence tasks, generated on the spot, and a character-level language model on a
text the package carries or the user gives (no downloads)."""

from .adding import Adding
from .base import Task
from .context import Context
from .copy import Copy
from .sine import Sine
from .text import Text

__all__ = ["Task", "Adding", "Copy", "Context", "Sine", "Text", "TASKS", "make"]

TASKS = {task.name: task for task in (Adding, Copy, Context, Sine, Text)}


def make(name, **options):
    """The task called name ('adding', 'copy', 'context', 'sine', 'text') with its options."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name](**options)
