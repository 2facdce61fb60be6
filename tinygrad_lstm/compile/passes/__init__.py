"""Rewrite passes over a tape: a traced list of Steps in, an equivalent list out.

Each pass is a function (steps, returned, needs, shapes) -> steps: `returned` holds the slots
the function returns (a pass keeps them as they are), `needs[slot]` whether a slot needs a
gradient, `shapes[slot]` its shape. Each pass, in its own module, says what it matches and
why the result is the same math.

The exact passes give the same numbers to the last bit; the others change the order of some
sums (a product over all steps at once, say), so their results agree with eager to float
rounding. tl.compile(fn, exact=True) runs the exact ones only.
"""

from .gates import fuse_gate_activations

EXACT = [fuse_gate_activations]
FAST = EXACT


def passes_for(exact):
    """The passes a tape runs, in order."""
    return EXACT if exact else FAST
