"""tl.compile: run a function once eagerly, write down its ops, then replay them.

An eager step pays, for every op, the bookkeeping that makes autograd general: a Tensor
and a Function object, a place in the graph, and in backward() a heap that orders the
ops and dicts that collect their gradients. A training step runs the same ops in the
same order every time, on arrays of the same shapes, so all of that can be worked out
once. compile(fn) does so:

- The first call for given argument shapes and dtypes runs fn eagerly while the engine
  reports each op it runs (trace.py): its class, where its inputs came from (an argument, a
  parameter or other tensor made outside fn, or an earlier op) and its parameters. That list
  of Steps, rewritten by the passes (passes.py), is the tape (tape.py). The call returns the
  eager result.
- The second call replays the tape and also runs fn eagerly once more, and compares the
  two op by op: equal to the last bit, or an error naming the first op that differs
  (fn read something the tape froze, see below). From then on, calls only replay.
- A replay calls each op's own forward(), in order, on the arrays in a flat list of
  slots: no Tensor or Function is made, apart from the outputs and one Function, Replay,
  that stands for the whole of fn in the graph. Its backward calls each op's own
  backward() in reverse order and sums gradients as the engine does, in the same order,
  so .grad comes out bit-identical to eager. Parameters are read from their Tensors at
  each call (an optimizer's in-place update, `p.data = ...`, is seen); dropout draws new
  masks at each call, from the same random stream as eager.

What a tape cannot follow, as with torch.jit.trace or tinygrad's TinyJit:
- Python control flow that depends on values (`if loss > 1`, a loop until convergence):
  the tape keeps the branch taken when it was traced.
- Values that reach an op other than as a Tensor or array argument, or the result of an
  op: a number read from an argument (`float(x[0])`), an argument converted with NumPy or
  copied into a new Tensor (`Tensor(x)`) inside fn. They are frozen at their traced value.
  (Comparisons, argmax, indexing with an argument's index array all are ops: they are
  replayed.) The check at the second call catches a frozen value when the second call's
  data differs from the first's; a shape that depends on the values (a boolean mask) is
  refused at any call.
- A changed mode or structure: model.train()/eval(), a parameter replaced by a new Tensor
  object: call .retrace() (a switched requires_grad is noticed by itself).
- What is not an op: backward(), an optimizer step or any in-place change, retain_grad()
  inside fn are refused when traced; a compiled function called inside another one's
  trace runs as plain code, part of that trace.
Bit-identical means: a result's .grad equals eager's when the gradient comes from fn's
result alone (a parameter that also gets a gradient from outside fn gets the two parts
added in another order). Arguments may be Tensors, arrays, tuples and lists of them, and
hashable Python values (which select a tape, as shapes do); fn returns a Tensor or a flat
tuple or list of Tensors. Each result keeps its own saved values (several may wait for
backward); replays and their backward take turns across threads.
"""

import functools
import threading

import numpy as np

from .. import random
from ..grad_mode import current_tracer, is_grad_enabled, tracing
from ..tensor import Tensor
from .tape import Tape
from .trace import Tracer


def compile(fn):
    """fn, traced at its first call for each set of argument shapes and dtypes, replayed after.
    Same results as fn, to the last bit, in less time (see this module's docstring)."""
    return Compiled(fn)


class Compiled:
    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        self.fn, self.tapes = fn, {}
        functools.update_wrapper(self, fn)

    def __get__(self, instance, owner=None):  # as a method's decorator: the instance is an argument
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        if current_tracer() is not None:  # inside another compiled function's trace: be part of it
            return self.fn(*args, **kwargs)
        names = sorted(kwargs)
        values = []  # the Tensors and arrays among the arguments (in tuples and lists too), in order
        signature = tuple(_signature(v, values) for v in (*args, *(kwargs[k] for k in names)))
        key = (tuple(names), is_grad_enabled(), signature, _same_arrays(values))
        tape = self.tapes.get(key)
        if tape is None or not tape.still_fits():
            tape, result = _trace(self.fn, args, kwargs, values)
            self.tapes[key] = tape
            return result
        if tape.verified:
            return tape.replay(values)
        stream = random.generator().bit_generator.state
        result = tape.replay(values)
        replayed, after = tape.last_slots, random.generator().bit_generator.state
        random.generator().bit_generator.state = stream  # the eager run draws what the replay drew
        tape.verify(self.fn, args, kwargs, values, replayed)
        random.generator().bit_generator.state = after
        return result

    def retrace(self):
        """Forget the tapes: the next call traces again (after model.eval(), say)."""
        self.tapes.clear()


def _signature(value, arrays):
    """What selects a tape for an argument: an array's shape and dtype (and a Tensor's
    requires_grad), a tuple's or list's items, or a Python value itself. The Tensors and
    arrays are added to `arrays`: they are what a replay reads."""
    if isinstance(value, (Tensor, np.ndarray)):
        arrays.append(value)
        return (type(value), value.shape, value.dtype, isinstance(value, Tensor) and value.requires_grad)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_signature(v, arrays) for v in value))
    if isinstance(value, float):  # (repr: -0.0 and 0.0 are equal, and nan is not equal to itself)
        return (float, repr(value))
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"compile: arguments must be Tensors, arrays, tuples or lists of them, or hashable "
            f"values, got {type(value).__name__}"
        ) from None
    return (type(value), value)


def _same_arrays(values):
    """Which arguments are the same tensor or array as an earlier one (f(x, x)): a tape traced
    with one argument twice cannot tell which of the two each op read."""
    first = {}
    return tuple(first.setdefault(id(v.data if isinstance(v, Tensor) else v), k) for k, v in enumerate(values))


def _trace(fn, args, kwargs, values):
    """Run fn eagerly, each op reported to a Tracer; returns (the tape, fn's result)."""
    tracer = Tracer(values)
    with _one_at_a_time, tracing(tracer):
        result = fn(*args, **kwargs)
    return Tape(tracer, result), result


_one_at_a_time = threading.Lock()  # one trace at a time
