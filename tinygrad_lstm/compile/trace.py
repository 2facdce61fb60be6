"""Tracing: run a function once, eagerly, writing down every op it runs as a Step.

While a Tracer listens (grad_mode.tracing), Function.apply reports each op to it: its class,
the Tensors it read, its parameters and the Tensors it made. The tracer gives every Tensor a
slot, a number, and remembers where each slot's value comes from at a later call:

- Argument(k): the k-th Tensor or array passed to the function, read from the call's arguments;
- a Tensor made outside the ops (a parameter, a constant): read from that Tensor at each call,
  so an optimizer's in-place update is seen;
- None: an op's output, made again by the replay.

An op's parameter that is the array of a slot (an index computed from an argument) is kept as
SlotRef(slot), read from that slot at each call.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..grad_mode import made_untraced
from ..tensor import Tensor


class Step(NamedTuple):
    """One op as the trace saw it run."""

    op: type  # the Function class
    inputs: list  # the slots it read
    params: dict  # its keyword parameters (SlotRef for one tied to a slot)
    outputs: list  # the slots it made
    several: bool  # whether forward returned a tuple (split, unbind)


@dataclass(frozen=True)
class Argument:  # a slot's source: the array of argument k, as given at each call
    k: int


@dataclass(frozen=True)
class SlotRef:  # in an op's parameters: the array in slot k (an index computed from an argument, say)
    k: int


class Tracer:
    """Writes down each op the engine runs in the tracing thread as a Step (see the module's
    docstring for the slots)."""

    def __init__(self, values):
        self.slot_of, self.keep = {}, []  # id(tensor) -> slot; the tensors, kept alive so ids stay unique
        self.sources = []  # per slot: Argument(k), a Tensor made outside the ops, or None (an op's output)
        self.needs_grad, self.shapes, self.dtypes, self.steps = [], [], [], []
        # an argument is followed by its array: a Tensor made on it (as Module.as_input does) is it too
        self.argument_arrays, self.array_slot = {}, {}  # id(array) -> argument k; id(array) -> its slot
        self.plain_arrays = [k for k, value in enumerate(values) if isinstance(value, np.ndarray)]
        for k, value in enumerate(values):
            if isinstance(value, (Tensor, np.ndarray)):
                t = value if isinstance(value, Tensor) else Tensor._make(value)
                self.argument_arrays[id(t.data)] = k
                self._new_slot(t, Argument(k))

    def _new_slot(self, t, source):
        self.slot_of[id(t)] = self.array_slot[id(t.data)] = len(self.sources)
        self.keep.append(t)
        self.sources.append(source)
        self.needs_grad.append(t.requires_grad)
        self.shapes.append(t.shape)
        self.dtypes.append(t.dtype)
        return len(self.sources) - 1

    def slot(self, t):
        """t's slot, given one the first time it is seen."""
        slot = self.slot_of.get(id(t))
        if slot is not None:
            return slot
        if not (t.requires_grad and t._ctx is None):  # (a parameter stays itself, even if its array was passed in)
            k = self.argument_arrays.get(id(t.data))
            if k is not None:  # a Tensor made on an argument's array
                return self._new_slot(t, Argument(k))
            same = self.array_slot.get(id(t.data))
            if same is not None:  # made on an op's output array, as x.detach() is: the same numbers at each call
                slot = self._new_slot(t, None)
                self.steps.append(Step(Same, [same], {}, [slot], False))
                return slot
        if made_untraced(t):
            raise RuntimeError(
                "compile: the function used a tensor that ops made during its trace in another thread (a "
                "worker's result?): a trace writes down the ops of its own thread only, so a replay would keep "
                "that tensor's first numbers. Run those ops in the function's thread, or run it uncompiled"
            )
        return self._new_slot(t, t)  # a parameter, a constant: read from the Tensor at each call

    def record(self, cls, inputs, params, result):
        """Called by Function.apply for every op run in this thread while this tracer listens."""
        ins = [self.slot(t) for t in inputs]
        several = isinstance(result, tuple)
        outs = [self._new_slot(t, None) for t in (result if several else (result,))]
        params = {name: self._parameter(value) for name, value in params.items()}
        self.steps.append(Step(cls, ins, params, outs, several))

    def _parameter(self, value):
        """An op's parameter as the tape keeps it: the array of an argument or of an op's output
        (an index, say) stays tied to that slot; anything else is kept as it is."""
        array = value.data if isinstance(value, Tensor) else value
        if isinstance(array, np.ndarray) and id(array) in self.array_slot:
            return SlotRef(self.array_slot[id(array)])
        if isinstance(value, tuple):
            return tuple(self._parameter(v) for v in value)
        return value


class Passed(Function):
    """z = a, as a compiled function receives it: a view of a's numbers, joined to a in the
    graph (dz/da = 1). The trace sees z as the argument, and a, if fn also captures it, as a
    tensor of its own."""

    def forward(self, a):
        return a.view()

    def backward(self, grad):
        return (grad,)


class Same(Function):  # in a tape: a tensor on another's array (detach()); no gradient passes
    def forward(self, a):
        return a

    def backward(self, grad):
        return (None,)


def slots_in(value):
    """The slots an op's parameters refer to."""
    if isinstance(value, SlotRef):
        return [value.k]
    if isinstance(value, dict):
        value = tuple(value.values())
    return [k for v in value for k in slots_in(v)] if isinstance(value, tuple) else []


def from_slots(value, slots):
    """An op's parameters with each SlotRef replaced by that slot's array now."""
    if isinstance(value, SlotRef):
        return slots[value.k]
    if isinstance(value, dict):
        return {name: from_slots(v, slots) for name, v in value.items()}
    if isinstance(value, tuple):
        return tuple(from_slots(v, slots) for v in value)
    return value
