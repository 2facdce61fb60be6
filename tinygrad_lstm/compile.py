"""tl.compile: run a function once eagerly, write down its ops, then replay them.

An eager step pays, for every op, the bookkeeping that makes autograd general: a Tensor
and a Function object, a place in the graph, and in backward() a heap that orders the
ops and dicts that collect their gradients. A training step runs the same ops in the
same order every time, on arrays of the same shapes, so all of that can be worked out
once. compile(fn) does so:

- The first call for given argument shapes and dtypes runs fn eagerly while the engine
  reports each op it runs (autograd.tracer): its class, where its inputs came from (an
  argument, a parameter or other tensor made outside fn, or an earlier op) and its
  parameters. That list is the tape. The call returns the eager result.
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

from . import autograd, ops, random
from .autograd import Function, _sum_into, unbroadcast
from .tensor import Tensor


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
        if autograd.tracer is not None:  # inside another compiled function's trace: be part of it
            return self.fn(*args, **kwargs)
        names = sorted(kwargs)
        values = []  # the Tensors and arrays among the arguments (in tuples and lists too), in order
        signature = tuple(_signature(v, values) for v in (*args, *(kwargs[k] for k in names)))
        key = (tuple(names), autograd.is_grad_enabled(), signature, _same_arrays(values))
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
        raise TypeError(f"compile: arguments must be Tensors, arrays, tuples or lists of them, or hashable "
                        f"values, got {type(value).__name__}") from None
    return (type(value), value)


def _same_arrays(values):
    """Which arguments are the same tensor or array as an earlier one (f(x, x)): a tape traced
    with one argument twice cannot tell which of the two each op read."""
    first = {}
    return tuple(first.setdefault(id(v.data if isinstance(v, Tensor) else v), k) for k, v in enumerate(values))


# ----- tracing ------------------------------------------------------------------------------

class _Argument:  # in a tape: the array of argument k, as given at each call
    def __init__(self, k):
        self.k = k


class _Slot:  # in an op's parameters: the array in slot k (an index computed from an argument, say)
    def __init__(self, k):
        self.k = k


def _trace(fn, args, kwargs, values):
    """Run fn eagerly, each op reported to a _Tracer; returns (the tracer, fn's result)."""
    tracer = _Tracer(values)
    with _tracing(tracer):
        result = fn(*args, **kwargs)
    return _Tape(tracer, result), result


_one_at_a_time = threading.Lock()


class _tracing:
    """While fn runs: the engine reports every op to the tracer (one trace at a time; a
    compiled function called inside runs as plain code, part of this trace)."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __enter__(self):
        _one_at_a_time.acquire()
        autograd.tracer = self.tracer

    def __exit__(self, *exc):
        autograd.tracer = None
        _one_at_a_time.release()


class _Tracer:
    """Writes down each op the engine runs while fn runs, as (class, input slots, params,
    output slots). A slot is one tensor: an argument, a tensor made outside the ops (a
    parameter, a constant: read from its Tensor at each call), or an op's output."""

    def __init__(self, values):
        self.thread = threading.get_ident()
        self.slot_of, self.keep = {}, []  # id(tensor) -> slot; the tensors, kept alive so ids stay unique
        self.sources = []  # per slot: _Argument(k), a Tensor made outside the ops, or None (an op's output)
        self.needs_grad, self.shapes, self.entries = [], [], []
        # an argument is followed by its array: a Tensor made on it (as Module.as_input does) is it too
        self.argument_arrays, self.array_slot = {}, {}  # id(array) -> argument k; id(array) -> its slot
        for k, value in enumerate(values):
            if isinstance(value, (Tensor, np.ndarray)):
                t = value if isinstance(value, Tensor) else Tensor._make(value)
                self.argument_arrays[id(t.data)] = k
                self._new_slot(t, _Argument(k))

    def _new_slot(self, t, source):
        self.slot_of[id(t)] = self.array_slot[id(t.data)] = len(self.sources)
        self.keep.append(t)
        self.sources.append(source)
        self.needs_grad.append(t.requires_grad)
        self.shapes.append(t.shape)
        return len(self.sources) - 1

    def _slot(self, t):
        slot = self.slot_of.get(id(t))
        if slot is not None:
            return slot
        k = self.argument_arrays.get(id(t.data))
        if k is not None:  # a Tensor made on an argument's array
            return self._new_slot(t, _Argument(k))
        same = self.array_slot.get(id(t.data))
        if same is not None:  # made on an op's output array, as x.detach() is: the same numbers at each call
            slot = self._new_slot(t, None)
            self.entries.append((_Same, [same], {}, [slot], False))
            return slot
        return self._new_slot(t, t)  # a parameter, a constant: read from the Tensor at each call

    def record(self, cls, inputs, params, result):
        if threading.get_ident() != self.thread:
            return
        ins = [self._slot(t) for t in inputs]
        several = isinstance(result, tuple)
        outs = [self._new_slot(t, None) for t in (result if several else (result,))]
        params = {name: self._parameter(value) for name, value in params.items()}
        self.entries.append((cls, ins, params, outs, several))

    def _parameter(self, value):
        """An op's parameter as the tape keeps it: the array of an argument or of an op's output
        (an index, say) stays tied to that slot; anything else is kept as it is."""
        array = value.data if isinstance(value, Tensor) else value
        if isinstance(array, np.ndarray) and id(array) in self.array_slot:
            return _Slot(self.array_slot[id(array)])
        if isinstance(value, tuple):
            return tuple(self._parameter(v) for v in value)
        return value


# ----- replaying ----------------------------------------------------------------------------

class _Needs:  # stands for an input Tensor where a rule asks `self.parents[k].requires_grad`
    def __init__(self, requires_grad):
        self.requires_grad = requires_grad


_NEEDS = {True: _Needs(True), False: _Needs(False)}


class _Tape:
    def __init__(self, tracer, result):
        many = isinstance(result, (tuple, list))
        outputs = list(result) if many else [result]
        if not outputs or not all(isinstance(t, Tensor) for t in outputs):
            raise TypeError("compile: the function must return a Tensor, or a flat tuple or list of Tensors "
                            f"(return out, h, c rather than out, (h, c)), got {_describe(result)}")
        self.output_slots = [tracer._slot(t) for t in outputs]
        self.container = type(result) if many else None
        for t, source in zip(tracer.keep, tracer.sources):
            if source is None and t._retains_grad:
                raise RuntimeError("compile: retain_grad() inside a compiled function is not replayed (a replay "
                                   "keeps no gradient but those of the tensors passed in and the parameters); "
                                   "return that tensor and call retain_grad() on it, or run the function uncompiled")
        sources, needs = tracer.sources, tracer.needs_grad
        self.n_slots, self.needs_grad, self.shapes = len(sources), needs, tracer.shapes
        self.arguments = [(slot, s.k) for slot, s in enumerate(sources) if isinstance(s, _Argument)]
        self.outside = [(slot, s, s.requires_grad) for slot, s in enumerate(sources) if isinstance(s, Tensor)]
        # the tensors made outside fn that need a gradient: Replay's inputs in the graph
        self.parents = [(slot, s) for slot, s in enumerate(sources) if s is not None and needs[slot]]
        self.traced_ops = [cls for cls, *_ in tracer.entries]  # as run eagerly, for verify()
        self.op_output_slots = [s for entry in tracer.entries for s in entry[3]]
        entries = _fuse_gate_activations(tracer.entries, self.output_slots)
        # an op's output no later op reads (and fn does not return) is let go at once
        last_use = {}
        for k, (_, ins, params, _, _) in enumerate(entries):
            for slot in list(ins) + _slots_in(params):
                last_use[slot] = k
        done_after = [[] for _ in entries]
        for slot, k in last_use.items():
            if sources[slot] is None and slot not in self.output_slots:
                done_after[k].append(slot)
        self.ops, self.entries = [], []
        for k, (cls, ins, params, outs, several) in enumerate(entries):
            op = object.__new__(cls)  # one instance per op, for every replay: forward() fills it
            op.parents = tuple(_NEEDS[needs[s]] for s in ins)
            self.ops.append(op)
            self.entries.append((op.forward, tuple(ins), params or None, bool(_slots_in(params)), tuple(outs),
                                 several, tuple(done_after[k])))
        # for backward, newest first, the ops whose outputs need a gradient: (op, its index, its
        # output slot(s), and (k, slot, shape) for each input k that needs a gradient)
        self.backward_entries = [(self.ops[k], k, tuple(outs) if several else outs[0],
                                  tuple((i, slot, tracer.shapes[slot]) for i, slot in enumerate(ins) if needs[slot]))
                                 for k, (_, ins, _, outs, several) in reversed(list(enumerate(entries)))
                                 if any(needs[s] for s in outs)]
        self.verified, self.last_slots, self.lock = False, None, threading.Lock()

    def still_fits(self):
        """False when a tensor read from outside changed whether it requires grad: the tape's
        gradients would go to the wrong places, so it is traced again."""
        return all(t.requires_grad == was for _, t, was in self.outside)

    def replay(self, values):
        """Every op's forward, in order, on a flat list of slots; the outputs as Tensors made
        by one Replay op (when a gradient is wanted), which keeps what the ops saved. (One
        thread at a time: the ops' instances are shared by every replay.)"""
        with self.lock:
            return self._replay(values)

    def _replay(self, values):
        slots = [None] * self.n_slots
        for slot, k in self.arguments:
            v = values[k]
            slots[slot] = v.data if isinstance(v, Tensor) else v
        for slot, t, _ in self.outside:
            slots[slot] = t.data
        keep = None if self.verified else slots  # verify() compares every op's output
        for forward, ins, params, tied, outs, several, done in self.entries:
            if params is not None:  # (spelled out: this runs once per op)
                out = forward(*[slots[s] for s in ins], **(_from_slots(params, slots) if tied else params))
            elif len(ins) == 2:
                out = forward(slots[ins[0]], slots[ins[1]])
            elif len(ins) == 1:
                out = forward(slots[ins[0]])
            else:
                out = forward(*[slots[s] for s in ins])
            if several:
                for s, o in zip(outs, out):
                    slots[s] = o
            else:
                slots[outs[0]] = out if type(out) is np.ndarray else np.asarray(out)
            if tied:  # an index read from an argument: a boolean mask's count of True can change the shape
                for s in outs:
                    if slots[s].shape != self.shapes[s]:
                        raise RuntimeError(f"compile: an op's output has shape {slots[s].shape} now and had "
                                           f"{self.shapes[s]} when traced: its shape depends on the values (a "
                                           "boolean mask?), which a trace cannot follow. Run it uncompiled.")
            if keep is None:
                for s in done:
                    slots[s] = None
        self.last_slots = keep
        # what the ops saved for backward now belongs to this call's Replay; the ops start afresh
        saved = [op.__dict__ for op in self.ops]
        for op in self.ops:
            op.__dict__ = {}

        fn = None
        if self.parents and autograd.is_grad_enabled():
            fn = Replay()
            parents = tuple(source if isinstance(source, Tensor) else values[source.k] for _, source in self.parents)
            fn.parents, fn.seq, fn.scope = parents, autograd._next_seq(), ()
            fn.tape, fn.saved, fn.n_outputs = self, saved, len(self.output_slots)
        outputs = []
        for index, slot in enumerate(self.output_slots):
            recorded = fn is not None and self.needs_grad[slot]
            t = Tensor._make(slots[slot], recorded, fn if recorded else None)
            if recorded:
                t._index = index
            outputs.append(t)
        if self.container is None:
            return outputs[0]
        return self.container(*outputs) if hasattr(self.container, "_fields") else self.container(outputs)

    def verify(self, fn, args, kwargs, values, replayed):
        """The second call: fn runs eagerly again (drawing the same random numbers) and each
        op's output is compared with the replay's, to the last bit."""
        tracer = _Tracer(values)
        with _tracing(tracer):
            fn(*args, **kwargs)
        if [cls for cls, *_ in tracer.entries] != self.traced_ops:
            raise RuntimeError(f"compile: the function ran other ops this time ({len(tracer.entries)}) than when "
                               f"it was traced ({len(self.traced_ops)}): it takes a different path for different "
                               "values (Python control flow on values), which a trace cannot follow, or a mode "
                               "changed (after model.eval() or .train(), call .retrace()). Run it uncompiled.")
        eager = [t.data for t, source in zip(tracer.keep, tracer.sources) if source is None]
        owner = [cls for cls, _, _, outs, _ in tracer.entries for _ in outs]
        for a, slot, cls in zip(eager, self.op_output_slots, owner):
            b = replayed[slot]
            if b is None:  # a piece a fused op never makes on its own (_fuse_gate_activations)
                continue
            if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():  # (to the bit: -0.0 too)
                raise RuntimeError(f"compile: replaying the trace gives other numbers than running the function "
                                   f"(the output of a {cls.__name__}, of shape {a.shape}): the function uses "
                                   "something the trace froze at its first value, e.g. a number read from an "
                                   "argument, or an argument changed with NumPy before use. Run it uncompiled, or "
                                   "make that value a Tensor argument.")
        self.verified = True


def _describe(result):
    if isinstance(result, (tuple, list)):
        return f"a {type(result).__name__} of " + ", ".join(type(r).__name__ for r in result)
    return type(result).__name__


def _slots_in(value):
    """The slots an op's parameters refer to."""
    if isinstance(value, _Slot):
        return [value.k]
    if isinstance(value, dict):
        value = tuple(value.values())
    return [k for v in value for k in _slots_in(v)] if isinstance(value, tuple) else []


def _from_slots(value, slots):
    if isinstance(value, _Slot):
        return slots[value.k]
    if isinstance(value, dict):
        return {name: _from_slots(v, slots) for name, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_from_slots(v, slots) for v in value)
    return value


# ----- a rewrite of the tape: the same numbers with fewer NumPy calls ---------------------------

def _fuse_gate_activations(entries, returned):
    """A split whose every piece goes straight into one sigmoid or tanh, and nowhere else (an
    LSTM's or GRU's gate block: i, f, g, o), becomes one op, _GateActivations: a sigmoid over
    the whole block and a tanh over the tanh pieces, in place of one call per piece. Each
    number is computed by the same formula as before, so the results are the same to the bit."""
    readers = {}
    for k, (_, ins, params, _, _) in enumerate(entries):
        for slot in list(ins) + _slots_in(params):
            readers.setdefault(slot, []).append(k)
    kinds = {ops.Sigmoid: "sigmoid", ops.Tanh: "tanh"}
    fused, dropped = {}, set()
    for k, (cls, ins, params, outs, several) in enumerate(entries):
        if cls is not ops.Split:
            continue
        users = [readers.get(slot, []) for slot in outs]
        if not all(len(u) == 1 and entries[u[0]][0] in kinds and entries[u[0]][1] == [slot] and slot not in returned
                   for u, slot in zip(users, outs)):
            continue
        activations = [entries[u[0]] for u in users]
        fused[k] = (_GateActivations, ins, dict(params, kinds=tuple(kinds[a[0]] for a in activations)),
                    [a[3][0] for a in activations], True)
        dropped.update(u[0] for u in users)
    return [fused.get(k, entry) for k, entry in enumerate(entries) if k not in dropped]


class _GateActivations(Function):
    """Split a along axis into pieces (sizes as torch.split), then sigmoid or tanh on each
    piece (kinds), as one op. Forward: the sigmoid of the whole array, its tanh pieces
    overwritten with tanh; backward: the pieces' gradients side by side, times z - z^2
    (sigmoid's rule) or 1 - z^2 (tanh's), the very formulas of Sigmoid and Tanh."""

    def forward(self, a, sizes, axis, kinds):
        self.pieces = ops._split_slices(a.shape, sizes if isinstance(sizes, int) else tuple(sizes),
                                        ops._normalize_axis(axis, a.ndim, "split"))
        self.axis, self.kinds = axis, kinds
        z = ops._sigmoid_array(a) if "sigmoid" in kinds else np.empty_like(a)
        for where, kind in zip(self.pieces, kinds):
            if kind == "tanh":
                z[where] = np.tanh(a[where])
        self.out = z
        return tuple(z[where] for where in self.pieces)

    def backward(self, grads):
        z = self.out
        if ops._some_missing(grads):  # an unused piece's gradient is zeros
            grads = [np.zeros_like(z[where]) if g is None else g for g, where in zip(grads, self.pieces)]
        squares = z * z
        factor = z - squares
        for where, kind in zip(self.pieces, self.kinds):
            if kind == "tanh":
                factor[where] = ops._ONE.get(z.dtype, 1) - squares[where]
        return (np.concatenate(grads, axis=self.axis) * factor,)


class _Same(Function):  # in a tape: a tensor on another's array (detach()); no gradient passes
    def forward(self, a):
        return a

    def backward(self, grad):
        return (None,)


class Replay(Function):
    """The whole of a compiled function as one op in the graph. It keeps what the ops saved
    in this call; its backward runs the ops' own backward rules, newest first, and sums each
    gradient as the engine does, in the same order: the same numbers to the last bit."""

    def backward(self, grads):
        if any(isinstance(g, Tensor) for g in grads):
            raise RuntimeError("backward(create_graph=True) cannot go through a compiled function: its replay "
                               "keeps arrays, not the graph a second derivative needs; call the function uncompiled")
        with self.tape.lock:
            return self._backward(grads)

    def _backward(self, grads):
        tape, saved = self.tape, self.saved
        keep = autograd.retaining_graph  # (else each op's values go once its rule has run, as in eager)
        if self.seq < autograd._last_change:
            _check_unchanged(tape, saved, self.seq)
        slot_grads, owned = {}, set()  # {slot: dL/d(its tensor)}, summed as the engine sums (_sum_into)
        for slot, g in zip(tape.output_slots, grads):
            if g is not None:  # (a tensor returned twice gets both gradients)
                _sum_into(slot_grads, slot, g, owned)
        for op, k, out, ins in tape.backward_entries:
            if type(out) is tuple:  # several outputs
                g = [slot_grads.pop(s, None) for s in out]  # (popped: used, let go)
                if all(x is None for x in g):
                    continue
            else:
                g = slot_grads.pop(out, None)
                if g is None:
                    continue
            op.__dict__ = saved[k]  # this call's values, for the op's rule
            input_grads = op.backward(g)
            op.__dict__ = {}
            if not keep:
                saved[k] = None
            for i, slot, shape in ins:
                gi = input_grads[i]
                if gi is None:
                    continue
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                _sum_into(slot_grads, slot, gi, owned)
        return [slot_grads.get(slot) for slot, _ in tape.parents]


def _check_unchanged(tape, saved, seq):
    """Refuse, as the engine does, when an array an op saved was changed in place since."""
    for op, values in zip(tape.ops, saved):
        for value in values.values():
            change = autograd.changed_after(value, seq)
            if change is not None:
                raise RuntimeError(autograd.changed_error(change, f"the compiled function's {type(op).__name__} "
                                                                  "saved it"))
