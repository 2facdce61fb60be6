"""Rewrite passes over a tape: a traced list of Steps in, an equivalent list out.

Each pass is a function (steps, returned, facts) -> steps: `returned` holds the slots the
function returns (a pass keeps them as they are); facts tells, per slot, whether it needs a
gradient (`facts.needs`), its shape and dtype (`facts.shapes`, `facts.dtypes`), and whether
the tape must be exact (`facts.exact`). Each pass, in its own module, says what it matches
and why the result is the same math.

The exact passes give the same numbers to the last bit; the others change the order of some
sums (a product over all steps at once, say), so their results agree with eager to float
rounding. tl.compile(fn, exact=True) runs the exact ones only.
"""

from .fuse import fuse_elementwise
from .gates import fuse_gate_activations

EXACT = [fuse_gate_activations, fuse_elementwise]
FAST = EXACT


def passes_for(exact):
    """The passes a tape runs, in order."""
    return EXACT if exact else FAST
