"""Seeded toy sequence tasks, generated on the spot (no downloads)."""

from .adding import Adding
from .base import Task
from .context import Context
from .copy import Copy
from .sine import Sine

__all__ = ["Task", "Adding", "Copy", "Context", "Sine", "TASKS", "make"]

TASKS = {task.name: task for task in (Adding, Copy, Context, Sine)}


def make(name, **options):
    """The task called name ('adding', 'copy', 'context', 'sine') with its options."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name](**options)
