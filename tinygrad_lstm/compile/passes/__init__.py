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

# Passes over the tape, in order; and passes over the code of each fused op (by name, as the
# fuse pass runs them: buffers.reuse_buffers). The exact ones give the same numbers to the bit.
EXACT = [fuse_gate_activations, fuse_elementwise]
FAST = EXACT
EXACT_CODE = ["reuse_buffers"]
FAST_CODE = EXACT_CODE
OFF = set()  # names of passes to leave out (benchmarks/lstm_step.py --without, to measure what each saves)


def passes_for(exact):
    """The tape passes a tape runs, in order, and the names of the passes over fused code."""
    tape = [p for p in (EXACT if exact else FAST) if p.__name__ not in OFF]
    code = {name for name in (EXACT_CODE if exact else FAST_CODE) if name not in OFF}
    return tape, code
