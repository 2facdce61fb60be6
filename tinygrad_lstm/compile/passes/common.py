"""What the passes share: who reads a slot; a new slot."""

from ..trace import slots_in


def readers_of(steps):
    """{slot: [index of each step that reads it]}."""
    readers = {}
    for k, step in enumerate(steps):
        for slot in list(step.inputs) + slots_in(step.params):
            readers.setdefault(slot, []).append(k)
    return readers


def new_slot(facts, shape, dtype, needs):
    """A slot for a value a pass adds (an op's output the trace did not have)."""
    facts.shapes.append(tuple(shape))
    facts.dtypes.append(dtype)
    facts.needs.append(needs)
    return len(facts.shapes) - 1
