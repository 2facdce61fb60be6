"""The tape: a trace made ready to replay, forward and backward, on a flat list of slots.

A replay calls each op's own forward(), in order, on the arrays in the slots: no Tensor or
Function is made, apart from the outputs and one Function, Replay, that stands for the whole
traced function in the graph. Replay's backward calls each op's own backward() in reverse
order and sums the gradients with the engine's own rule (autograd.GradientSums), in the same
order, so .grad comes out bit-identical to eager.
"""

import threading
from typing import NamedTuple

import numpy as np

from ..autograd import GONE_THROUGH, Function, GradientSums, graph_kept, unbroadcast
from ..grad_mode import tracing
from ..tensor import Tensor
from ..versions import changed_after, changed_error, last_change, op_number
from .passes import PASSES
from .trace import Argument, Tracer, from_slots, slots_in


class ForwardStep(NamedTuple):
    """One op of a replay's forward pass."""

    forward: object  # the op instance's forward method
    inputs: tuple  # the slots it reads
    params: object  # its parameters, or None
    tied: bool  # whether a parameter is read from a slot (SlotRef)
    outputs: tuple  # the slots it fills
    several: bool  # whether forward returns a tuple
    let_go: tuple  # the slots no later step reads: emptied once this step is done


class InputGradient(NamedTuple):  # where an op's input k sends its gradient
    position: int
    slot: int
    shape: tuple


class BackwardStep(NamedTuple):
    """One op of a replay's backward pass (newest first): only ops whose output needs a gradient."""

    op: Function  # the op instance, which its saved values are handed to
    index: int  # its place in the forward pass (which saved values are its)
    output: object  # its output slot, or a tuple of them
    inputs: tuple  # an InputGradient for each input that needs one


class Tape:
    def __init__(self, tracer, result):
        many = isinstance(result, (tuple, list))
        outputs = list(result) if many else [result]
        if not outputs or not all(isinstance(t, Tensor) for t in outputs):
            raise TypeError(
                "compile: the function must return a Tensor, or a flat tuple or list of Tensors "
                f"(return out, h, c rather than out, (h, c)), got {_describe(result)}"
            )
        self.output_slots = [tracer.slot(t) for t in outputs]
        self.container = type(result) if many else None
        # whether fn's result had a graph when traced (grad mode outside is part of the tape's key;
        # inside, fn may have switched it, with enable_grad or no_grad)
        self.records = any(tracer.needs_grad[s] for s in self.output_slots)
        for t, source in zip(tracer.keep, tracer.sources):
            if source is None and t._retains_grad:
                raise RuntimeError(
                    "compile: retain_grad() inside a compiled function is not replayed (a replay "
                    "keeps no gradient but those of the tensors passed in and the parameters); "
                    "return that tensor and call retain_grad() on it, or run the function uncompiled"
                )
        sources, needs = tracer.sources, tracer.needs_grad
        self.n_slots, self.needs_grad, self.shapes = len(sources), needs, tracer.shapes
        self.arguments = [(slot, s.k) for slot, s in enumerate(sources) if isinstance(s, Argument)]
        self.outside = [
            (slot, s, s.requires_grad, s.shape, s.dtype) for slot, s in enumerate(sources) if isinstance(s, Tensor)
        ]
        # the tensors made outside fn that need a gradient: Replay's inputs in the graph
        self.parents = [(slot, s) for slot, s in enumerate(sources) if s is not None and needs[slot]]
        self.traced_ops = [step.op for step in tracer.steps]  # as run eagerly, for verify()
        self.op_output_slots = [s for step in tracer.steps for s in step.outputs]
        steps = tracer.steps
        for rewrite in PASSES:
            steps = rewrite(steps, self.output_slots)
        self.ops = [object.__new__(step.op) for step in steps]  # one instance per op, for every replay
        self.needs_input_grad = [tuple(needs[s] for s in step.inputs) for step in steps]  # each op's, for its rule
        let_go = _last_readers(steps, sources, self.output_slots)
        self.forward_steps = [
            ForwardStep(
                op.forward,
                tuple(step.inputs),
                step.params or None,
                bool(slots_in(step.params)),
                tuple(step.outputs),
                step.several,
                tuple(let_go[k]),
            )
            for k, (op, step) in enumerate(zip(self.ops, steps))
        ]
        self.backward_steps = [
            BackwardStep(
                self.ops[k],
                k,
                tuple(step.outputs) if step.several else step.outputs[0],
                tuple(InputGradient(i, slot, tracer.shapes[slot]) for i, slot in enumerate(step.inputs) if needs[slot]),
            )
            for k, step in reversed(list(enumerate(steps)))
            if any(needs[s] for s in step.outputs)
        ]
        self.verified, self.lock = False, threading.Lock()

    def still_fits(self):
        """False when a tensor read from outside (a parameter) changed whether it requires grad,
        or its shape or dtype (`p.data = ...`): the tape would be wrong, so it is traced again."""
        return all(
            t.requires_grad == was and t.data.shape == shape and t.data.dtype == dtype
            for _, t, was, shape, dtype in self.outside
        )

    def replay(self, values, keep_slots=False):
        """Every op's forward, in order, on a flat list of slots; the outputs as Tensors made
        by one Replay op (when a gradient is wanted), which keeps what the ops saved. (One
        thread at a time: the ops' instances are shared by every replay.) keep_slots: also
        return every op's output, for verify()."""
        with self.lock:
            return self._replay(values, keep_slots)

    def _replay(self, values, keep_slots):
        for op, needs in zip(self.ops, self.needs_input_grad):  # each op starts with nothing saved
            op.__dict__ = {"needs_input_grad": needs}
        slots = [None] * self.n_slots
        for slot, k in self.arguments:
            v = values[k]
            slots[slot] = v.data if isinstance(v, Tensor) else v
        for slot, t, *_ in self.outside:
            slots[slot] = t.data
        keep = slots if keep_slots else None  # verify() compares every op's output
        for forward, ins, params, tied, outs, several, let_go in self.forward_steps:
            if params is not None:  # (spelled out: this runs once per op)
                out = forward(*[slots[s] for s in ins], **(from_slots(params, slots) if tied else params))
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
                        raise RuntimeError(
                            f"compile: an op's output has shape {slots[s].shape} now and had "
                            f"{self.shapes[s]} when traced: its shape depends on the values (a "
                            "boolean mask?), which a trace cannot follow. Run it uncompiled."
                        )
            if keep is None:
                for s in let_go:
                    slots[s] = None
        saved = [op.__dict__ for op in self.ops]  # what the ops saved for backward: this call's Replay keeps it

        fn = None
        if self.parents and self.records:
            fn = Replay()
            parents = tuple(source if isinstance(source, Tensor) else values[source.k] for _, source in self.parents)
            fn.parents, fn.seq, fn.scope = parents, op_number(), ()
            fn.tape, fn.saved, fn.n_outputs = self, saved, len(self.output_slots)
        outputs = []
        for index, slot in enumerate(self.output_slots):
            recorded = fn is not None and self.needs_grad[slot]
            t = Tensor._make(slots[slot], recorded, fn if recorded else None)
            if recorded:
                t._index = index
            outputs.append(t)
        if self.container is None:
            result = outputs[0]
        else:
            result = self.container(*outputs) if hasattr(self.container, "_fields") else self.container(outputs)
        return (result, keep) if keep_slots else result

    def verify(self, fn, args, kwargs, values, replayed):
        """The second call: fn runs eagerly again (drawing the same random numbers) and each
        op's output is compared with the replay's, to the last bit."""
        tracer = Tracer(values)
        with tracing(tracer):
            fn(*args, **kwargs)
        if [step.op for step in tracer.steps] != self.traced_ops:
            raise RuntimeError(
                f"compile: the function ran other ops this time ({len(tracer.steps)}) than when "
                f"it was traced ({len(self.traced_ops)}): it takes a different path for different "
                "values (Python control flow on values), which a trace cannot follow, or a mode "
                "changed (after model.eval() or .train(), call .retrace()). Run it uncompiled."
            )
        eager = [t.data for t, source in zip(tracer.keep, tracer.sources) if source is None]
        owner = [step.op for step in tracer.steps for _ in step.outputs]
        for a, slot, cls in zip(eager, self.op_output_slots, owner):
            b = replayed[slot]
            if b is None:  # a piece a fused op never makes on its own (passes.fuse_gate_activations)
                continue
            if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():  # (to the bit: -0.0 too)
                raise RuntimeError(
                    f"compile: replaying the trace gives other numbers than running the function "
                    f"(the output of a {cls.__name__}, of shape {a.shape}): the function uses "
                    "something the trace froze at its first value, e.g. a number read from an "
                    "argument, or an argument changed with NumPy before use. Run it uncompiled, or "
                    "make that value a Tensor argument."
                )
        self.verified = True


def _last_readers(steps, sources, returned):
    """For each step, the slots of op outputs it is the last to read (and fn does not return):
    a replay lets them go once the step is done."""
    last_use = {}
    for k, step in enumerate(steps):
        for slot in list(step.inputs) + slots_in(step.params):
            last_use[slot] = k
    let_go = [[] for _ in steps]
    for slot, k in last_use.items():
        if sources[slot] is None and slot not in returned:
            let_go[k].append(slot)
    return let_go


def _describe(result):
    if isinstance(result, (tuple, list)):
        return f"a {type(result).__name__} of " + ", ".join(type(r).__name__ for r in result)
    return type(result).__name__


class Replay(Function):
    """The whole of a compiled function as one op in the graph. It keeps what the ops saved
    in this call; its backward runs the ops' own backward rules, newest first, and sums each
    gradient as the engine does, in the same order: the same numbers to the last bit. It lets
    each op's values go once that op's rule has run, as the walk does for eager ops, so that the
    function's outputs may go back one after the other as eager outputs can; going back twice
    through the same op is refused as eagerly."""

    frees_itself = True

    def backward(self, grads):
        if any(isinstance(g, Tensor) for g in grads):
            raise RuntimeError(
                "backward(create_graph=True) cannot go through a compiled function: its replay "
                "keeps arrays, not the graph a second derivative needs; call the function uncompiled"
            )
        with self.tape.lock:
            return self._backward(grads)

    def _backward(self, grads):
        tape, saved = self.tape, self.saved
        keep = graph_kept()  # (else each op's values go once its rule has run, as in eager)
        if self.seq < last_change():
            _check_unchanged(tape, saved, self.seq)
        slot_grads, sums = {}, GradientSums(False)  # {slot: dL/d(its tensor)}, summed as the engine sums
        for slot, g in zip(tape.output_slots, grads):
            if g is not None:  # (a tensor returned twice gets both gradients)
                sums.add(slot_grads, slot, g)
        for op, k, out, ins in tape.backward_steps:
            if type(out) is tuple:  # several outputs
                g = [slot_grads.pop(s, None) for s in out]  # (popped: used, let go)
                if all(x is None for x in g):
                    continue
            else:
                g = slot_grads.pop(out, None)
                if g is None:
                    continue
            if saved[k] is None:
                raise RuntimeError(
                    GONE_THROUGH.format(caller="backward()", op=f"the compiled function's {type(op).__name__}")
                )
            op.__dict__ = saved[k]  # this call's values, for the op's rule
            input_grads = op.backward(g)
            op.__dict__ = {}
            if type(input_grads) is not tuple:
                input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
            if not keep:
                saved[k] = None
            for i, slot, shape in ins:
                gi = input_grads[i]
                if gi is None:
                    continue
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                sums.add(slot_grads, slot, gi)
        return [slot_grads.get(slot) for slot, _ in tape.parents]


def _check_unchanged(tape, saved, seq):
    """Refuse, as the engine does, when an array an op saved was changed in place since."""
    for op, values in zip(tape.ops, saved):
        for value in values.values():
            change = changed_after(value, seq)
            if change is not None:
                raise RuntimeError(changed_error(change, f"the compiled function's {type(op).__name__} saved it"))
