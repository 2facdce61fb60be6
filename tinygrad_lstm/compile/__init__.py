"""tl.compile: run a function once eagerly, write down its ops, then replay them.

An eager step pays, for every op, the bookkeeping that makes autograd general: a Tensor
and a Function object, a place in the graph, and in backward() a heap that orders the
ops and dicts that collect their gradients. A training step runs the same ops in the
same order every time, on arrays of the same shapes, so all of that can be worked out
once. compile(fn) does so:

- The first call for given argument shapes and dtypes runs fn eagerly while the engine
  reports each op it runs (trace.py): its class, where its inputs came from (an argument, a
  parameter or other tensor made outside fn, or an earlier op) and its parameters. That list
  of Steps, rewritten by the passes (passes/), is the tape (tape.py), written out as Python
  code (codegen.py; tape.source holds it).
- The second call replays the tape and also runs fn eagerly once more, and compares the
  two op by op (to the last bit when exact, to float rounding otherwise), or raises an error
  naming the first op that differs (fn read something the tape froze, see below). From then
  on, calls only replay.
- A replay runs each op's forward, in order, on arrays: no Tensor or Function is made, apart
  from the outputs and one Function, Replay, that stands for the whole of fn in the graph.
  Its backward runs the ops' backward rules in reverse order. Parameters are read from their
  Tensors at each call (an optimizer's in-place update, `p.data = ...`, is seen); dropout
  draws new masks at each call, from the same random stream as eager.

Two modes. exact=True runs only the passes that keep every number and sums gradients as the
engine does, in its order: the results are eager's to the last bit. The default also runs
passes that add some sums in another order (one product over all time steps for a weight's
gradient, one for the input projection of a loop), so the results agree with eager to float
rounding; every call, the first included, returns the tape's numbers, so a run's bits do
not depend on which call traced. docs/performance.md measures what each pass saves.

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
  object: call .retrace() (a switched requires_grad, or a parameter's data given another
  shape or dtype, is noticed by itself, and traced again).
- What is not an op: backward(), an optimizer step or any in-place change, retain_grad()
  inside fn are refused when traced; a compiled function called inside another one's
  trace runs as plain code, part of that trace.
Bit-identical (exact=True) means: a result's .grad equals eager's when the gradient comes from fn's
result alone (a parameter that also gets a gradient from outside fn, or a tensor both passed
in and captured, gets its parts added in another order). Arguments may be Tensors, arrays,
tuples and lists of them, and hashable Python values (not an object told apart by identity
only, whose contents a tape could not follow); fn returns a Tensor or a flat tuple or list of
Tensors.

- A Python number argument is part of the tape, as a shape is: another value is another
  tape. Pass a number that changes (a learning rate, a temperature) as a 0-d Tensor: it is
  read at each call, arithmetic on it (1 / t) is ops, and one tape serves. (An array argument
  is read at each call too, but what NumPy computes from it is frozen: the trace warns when
  no op reads an array argument.)
- A function keeps the tapes of its last `cache_size` kinds of call (16 unless given, as
  torch.compile keeps 8) and warns, once, when it keeps tracing anew (shapes or numbers that
  change at every call), saying which.
- fn receives each Tensor argument as a stand-in of its own (the same numbers, joined to it in
  the graph): a tensor fn also captures, even the very one passed in, stays itself in the tape.
- The checks that protect an op (an index in range, a class in [0, C)) are made in the op, so
  a replay makes them at every call, as eager does.
- Each result keeps its own saved values (several may wait for backward); the outputs of one
  call may go back one after the other, as eager ones, and going back twice through the same
  op is refused, as eagerly. Threads: each thread's trace listens to its own ops only (a
  tensor that a worker thread computed during the trace is refused); replays and their
  backward take turns.
"""

import collections
import functools
import threading
import warnings

import numpy as np

from .. import random
from ..grad_mode import current_tracer, is_grad_enabled, tracing
from ..tensor import Tensor
from .tape import Tape
from .trace import Passed, Tracer

CACHE_SIZE = 16  # tapes a compiled function keeps (the most recently used), as torch.compile's limit of 8


def compile(fn, exact=False, cache_size=CACHE_SIZE):
    """fn, traced at its first call for each set of argument shapes and dtypes, replayed after,
    in less time (see this module's docstring). exact=False (the default) rewrites the tape to
    run faster, which changes the order of some sums: the results agree with fn's to float
    rounding. exact=True replays fn's own ops in fn's own order: the same numbers to the last
    bit. It keeps the tapes of the last `cache_size` kinds of call, and warns once if it keeps
    tracing anew."""
    return Compiled(fn, exact, cache_size)


class Compiled:
    def __init__(self, fn, exact=False, cache_size=CACHE_SIZE):
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"compile: cache_size must be a positive integer, got {cache_size!r}")
        if not isinstance(exact, bool):
            raise TypeError(f"compile: exact must be True or False, got {exact!r}")
        self.fn, self.exact, self.cache_size = fn, exact, cache_size
        self.tapes = collections.OrderedDict()  # key -> Tape, the most recently used last
        self.traces, self.warned, self.lock = 0, False, threading.Lock()
        functools.update_wrapper(self, fn)

    def __get__(self, instance, owner=None):  # as a method's decorator: the instance is the first argument
        return self if instance is None else functools.partial(self._method, instance)

    def _method(self, instance, *args, **kwargs):
        # (the instance selects a tape by identity, as a closure's objects do: its tensors are read at each call)
        return self(*args, _instance=instance, **kwargs)

    def __call__(self, *args, _instance=None, **kwargs):
        if _instance is not None:
            args = (_instance, *args)
        if current_tracer() is not None:  # inside another compiled function's trace: be part of it
            return self.fn(*args, **kwargs)
        names = sorted(kwargs)
        values = []  # the Tensors and arrays among the arguments (in tuples and lists too), in order
        own = () if _instance is None else ((type(_instance), id(_instance)),)
        arguments = (*args[len(own) :], *(kwargs[k] for k in names))
        signature = own + tuple(_signature(v, values) for v in arguments)
        key = (tuple(names), is_grad_enabled(), signature, _same_arrays(values))
        with self.lock:
            tape = self.tapes.get(key)
            if tape is not None:
                self.tapes.move_to_end(key)
        if tape is None or not tape.still_fits():
            stream = random.generator().bit_generator.state
            tape, result = self._trace(key, args, kwargs, values)
            if tape.exact:
                return result  # (the replay's numbers are these, to the bit)
            # The rewritten tape's numbers may differ from eager's in the last bits: every call
            # returns the tape's, so a run gives the same bits whichever call traced (a resumed
            # run traces at another step). The replay draws the random numbers the trace drew.
            random.generator().bit_generator.state = stream
            return tape.replay(values)
        if tape.verified:
            return tape.replay(values)
        stream = random.generator().bit_generator.state
        result, replayed = tape.replay(values, keep_slots=True)
        after = random.generator().bit_generator.state
        random.generator().bit_generator.state = stream  # the eager run draws what the replay drew
        tape.verify(self.fn, *_passed(args, kwargs, values), replayed)
        random.generator().bit_generator.state = after
        return result

    def _trace(self, key, args, kwargs, values):
        """Run fn eagerly, each op reported to a Tracer: keep the tape, return fn's result."""
        args, kwargs, passed = _passed(args, kwargs, values)
        tracer = Tracer(passed)
        with tracing(tracer):
            result = self.fn(*args, **kwargs)
        tape = Tape(tracer, result, self.exact)
        with self.lock:
            self.tapes[key] = tape
            self.traces += 1
            if len(self.tapes) > self.cache_size:
                self.tapes.popitem(last=False)
                self._warn_of_retracing(key)
        return tape, result

    def _warn_of_retracing(self, key):
        if self.warned:
            return
        self.warned = True
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        warnings.warn(
            f"tl.compile: {name} was traced {self.traces} times, more than the {self.cache_size} tapes it keeps "
            f"(compile(fn, cache_size=...)); each new kind of call is traced again, eagerly, and the oldest tape "
            f"dropped. Here {_what_changes(list(self.tapes)[-2], key)}.",
            stacklevel=3,
        )

    def retrace(self):
        """Forget the tapes: the next call traces again (after model.eval(), say)."""
        with self.lock:
            self.tapes.clear()


def _passed(args, kwargs, values):
    """The arguments as fn receives them when traced or checked: each Tensor argument stands in
    for by a Tensor of its own (a view of the same numbers, joined to it by a Passed op when it
    needs a gradient), so that a tensor fn also captures, the very one passed in or one on the
    same array (w beside w.detach()), stays a tensor of its own in the tape. Returns (args,
    kwargs, the Tensors and arrays among them, in order)."""
    stand_in = {}

    def swap(value):
        if isinstance(value, Tensor):
            if id(value) not in stand_in:
                t = (
                    Passed.apply(value)
                    if value.requires_grad and is_grad_enabled()
                    else Tensor._make(value.data.view())
                )
                stand_in[id(value)] = t.named(value.name) if value.name is not None else t
            return stand_in[id(value)]
        if isinstance(value, (tuple, list)):
            swapped = [swap(v) for v in value]
            return type(value)(*swapped) if hasattr(value, "_fields") else type(value)(swapped)
        return value

    args, kwargs = tuple(swap(a) for a in args), {k: swap(v) for k, v in kwargs.items()}
    passed = [stand_in[id(v)] if isinstance(v, Tensor) else v for v in values]
    return args, kwargs, passed


def _what_changes(before, now):
    """Why two calls needed two tapes, told from their keys: the first argument that differs."""
    for old, new in zip(_flat(before[2]), _flat(now[2])):
        try:
            if old == new:
                continue
        except Exception:  # (a value whose == is not a bool, as a dataclass of Tensors: they differ)
            pass
        if old[:1] in ((float,), (int,)) and new[:1] == old[:1]:
            return (
                "a Python number argument selects a tape by its value: pass it as a 0-d Tensor, read at each "
                "call, to keep one tape"
            )
        if len(old) == 4 and len(new) == 4:
            return (
                f"the argument shapes or dtypes keep changing ({old[1]} {old[2]}, then {new[1]} {new[2]}): pad "
                "them to a few sizes to keep a few tapes"
            )
        return (
            f"an argument of type {new[0].__name__} selects a tape by its value, which keeps changing: pass "
            "the Tensors or arrays it holds as arguments"
        )
    return "grad mode, the keyword arguments given or a tuple argument's length keep changing"


def _flat(signature):
    for s in signature:
        if isinstance(s, tuple) and len(s) == 2 and s[0] in (tuple, list):
            yield from _flat(s[1])
        else:
            yield s


def _signature(value, arrays):
    """What selects a tape for an argument: an array's shape and dtype (and a Tensor's
    requires_grad), a tuple's or list's items, or a Python value itself. The Tensors and
    arrays are added to `arrays`: they are what a replay reads."""
    if isinstance(value, (Tensor, np.ndarray)):
        arrays.append(value)
        return (type(value), value.shape, value.dtype, isinstance(value, Tensor) and value.requires_grad)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_signature(v, arrays) for v in value))
    if isinstance(value, (float, np.floating)):  # (repr: -0.0 and 0.0 are equal, and nan is not equal to itself)
        return (float, repr(value))
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"compile: arguments must be Tensors, arrays, tuples or lists of them, or hashable "
            f"values, got {type(value).__name__}"
        ) from None
    if type(value).__hash__ is object.__hash__ and not callable(value) and value is not None:
        raise TypeError(
            f"compile: an argument of type {type(value).__name__} is told apart by its identity only: a tape "
            "would keep the numbers it held at the first call however they change. Pass the Tensors or arrays "
            "it holds as arguments (a tuple, list or namedtuple of them)"
        )
    return (type(value), value)


def _same_arrays(values):
    """Which arguments are the same tensor or array as an earlier one (f(x, x)): a tape traced
    with one argument twice cannot tell which of the two each op read."""
    first = {}
    return tuple(first.setdefault(id(v.data if isinstance(v, Tensor) else v), k) for k, v in enumerate(values))
