"""Rewrite passes: how a compiler turns the traced tape into a faster one.

Passes over the tape take a list of Steps and give an equivalent list:

    hoist_products         (hoist.py)   x[t] @ W for every t -> one x @ W before the loop      fast
    fuse_gate_activations  (gates.py)   split -> sigmoid/tanh per piece -> one op               exact
    fuse_elementwise       (fuse.py)    a run of elementwise ops and products -> one op whose
                                        code is generated from the ops' own rules              exact

Passes over the code of each fused op (fuse.py runs them on the lines it writes):

    reuse_buffers          (buffers.py)      a ufunc writes into a dead operand's array     exact
    batch_weight_gradients (batch_grads.py)  sum_t a_t^T g_t -> one product over all steps  fast

Each tape pass is a function (steps, returned, facts) -> steps: `returned` holds the slots the
function returns (a pass keeps them as they are); facts tells, per slot, whether it needs a
gradient (`facts.needs`), its shape and dtype (`facts.shapes`, `facts.dtypes`), whether the tape
must be exact (`facts.exact`) and which code passes run (`facts.passes`). Each module says what
its pass matches and why the result is the same math.

The exact passes give the same numbers to the bit; the fast ones change the order of some sums
(a product over all steps at once), so their results agree with eager to float rounding.
tl.compile(fn) runs them all; tl.compile(fn, exact=True) the exact ones only.
"""

from .fuse import fuse_elementwise
from .gates import fuse_gate_activations
from .hoist import hoist_products

EXACT = [fuse_gate_activations, fuse_elementwise]
FAST = [hoist_products, *EXACT]
EXACT_CODE = ["reuse_buffers"]
FAST_CODE = [*EXACT_CODE, "batch_weight_gradients"]
OFF = set()  # names of passes to leave out (benchmarks/lstm_step.py --without: what each one saves)


def passes_for(exact):
    """The tape passes a tape runs, in order, and the names of the code passes."""
    tape = [p for p in (EXACT if exact else FAST) if p.__name__ not in OFF]
    code = {name for name in (EXACT_CODE if exact else FAST_CODE) if name not in OFF}
    return tape, code
