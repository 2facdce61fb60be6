"""What the passes share: who reads a slot."""

from ..trace import slots_in


def readers_of(steps):
    """{slot: [index of each step that reads it]}."""
    readers = {}
    for k, step in enumerate(steps):
        for slot in list(step.inputs) + slots_in(step.params):
            readers.setdefault(slot, []).append(k)
    return readers
