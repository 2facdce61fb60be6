"""The tape: a trace made ready to replay, forward and backward, as generated code.

A replay runs each op's own forward(), in order, from generated Python code (codegen.py): no
Tensor or Function is made, apart from the outputs and one Function, Replay, that stands for
the whole traced function in the graph. Replay's backward runs each op's own backward() in
reverse order and adds the gradients as the engine adds them, in the same order, so .grad
comes out bit-identical to eager when the tape is exact (tl.compile(fn, exact=True)); the
rewrite passes of the default mode change the order of some sums (passes/).
"""

import threading
import warnings
from typing import NamedTuple

import numpy as np

from ..autograd import Function, graph_kept
from ..grad_mode import tracing
from ..tensor import Tensor
from ..versions import changed_after, changed_error, last_change, op_number
from .codegen import backward_function, forward_function
from .passes import passes_for
from .trace import Argument, Tracer, slots_in


class Facts(NamedTuple):
    """What the passes know of each slot, and whether the tape must be exact."""

    needs: list
    shapes: list
    dtypes: list
    exact: bool
    passes: set  # the names of the passes over fused code to run (passes.EXACT_CODE, FAST_CODE)


class Tape:
    def __init__(self, tracer, result, exact=False):
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
        self.needs_grad = needs
        self.arguments = [(slot, s.k) for slot, s in enumerate(sources) if isinstance(s, Argument)]
        _warn_of_unread_arrays(tracer, self.arguments, self.output_slots)
        self.outside = [
            (slot, s, s.requires_grad, s.shape, s.dtype) for slot, s in enumerate(sources) if isinstance(s, Tensor)
        ]
        # the tensors made outside fn that need a gradient: Replay's inputs in the graph
        self.parents = [(slot, s) for slot, s in enumerate(sources) if s is not None and needs[slot]]
        self.traced_steps = tracer.steps  # as run eagerly (for verify(), and to draw beside the rewritten ones)
        self.traced_ops = [step.op for step in tracer.steps]
        self.op_output_slots = [s for step in tracer.steps for s in step.outputs]
        self.exact = exact
        steps = tracer.steps
        tape_passes, code_passes = passes_for(exact)
        # (copies: a pass may add slots, passes.common.new_slot)
        facts = Facts(list(needs), list(tracer.shapes), list(tracer.dtypes), exact, code_passes)
        for rewrite in tape_passes:
            steps = rewrite(steps, self.output_slots, facts)
        self.steps = steps
        needs, shapes = facts.needs, facts.shapes
        sources = sources + [None] * (len(shapes) - len(sources))  # a slot a pass added: an op's output
        outside = [(slot, t) for slot, t, *_ in self.outside]
        parts = (steps, self.arguments, outside)
        let_go = _last_readers(steps, sources, self.output_slots)
        self._forward, forward_source = forward_function(
            *parts, self.output_slots, shapes, needs, let_go, keep_all=False
        )
        self._forward_checked, _ = forward_function(*parts, self.output_slots, shapes, needs, let_go, keep_all=True)
        self._backward, backward_source = backward_function(
            steps, self.output_slots, [slot for slot, _ in self.parents], shapes, needs
        )
        self.source = forward_source + "\n\n\n" + backward_source  # the generated code, to read
        self.verified, self.lock = False, threading.Lock()

    def still_fits(self):
        """False when a tensor read from outside (a parameter) changed whether it requires grad,
        or its shape or dtype (`p.data = ...`): the tape would be wrong, so it is traced again."""
        return all(
            t.requires_grad == was and t.data.shape == shape and t.data.dtype == dtype
            for _, t, was, shape, dtype in self.outside
        )

    def replay(self, values, keep_slots=False):
        """Every op's forward, in order (the generated code); the outputs as Tensors made by one
        Replay op (when fn's result had a graph), which keeps the call's op instances and what
        they saved. keep_slots: also return every op's output, {slot: array}, for verify()."""
        ops = []
        if keep_slots:
            slots = self._forward_checked(values, ops)
            arrays = [slots[s] for s in self.output_slots]
        else:
            arrays = self._forward(values, ops)
        fn = None
        if self.parents and self.records:
            fn = Replay()
            parents = tuple(source if isinstance(source, Tensor) else values[source.k] for _, source in self.parents)
            fn.parents, fn.seq, fn.scope = parents, op_number(), ()
            fn.tape, fn.ops, fn.n_outputs = self, ops, len(self.output_slots)
        outputs = []
        for index, (slot, array) in enumerate(zip(self.output_slots, arrays)):
            recorded = fn is not None and self.needs_grad[slot]
            t = Tensor._make(array, recorded, fn if recorded else None)
            if recorded:
                t._index = index
            outputs.append(t)
        if self.container is None:
            result = outputs[0]
        else:
            result = self.container(*outputs) if hasattr(self.container, "_fields") else self.container(outputs)
        return (result, slots) if keep_slots else result

    def verify(self, fn, args, kwargs, values, replayed):
        """The second call: fn runs eagerly again (drawing the same random numbers) and each
        op's output is compared with the replay's: to the last bit for an exact tape, to float
        rounding for one the passes rewrote (which the checks this makes, values the trace froze,
        are far beyond)."""
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
            b = replayed.get(slot)
            if b is None:  # a piece a fused op never makes on its own (passes.fuse_gate_activations)
                continue
            if a.shape != b.shape or a.dtype != b.dtype or not self._agree(a, b):
                raise RuntimeError(
                    f"compile: replaying the trace gives other numbers than running the function "
                    f"(the output of a {cls.__name__}, of shape {a.shape}): the function uses "
                    "something the trace froze at its first value, e.g. a number read from an "
                    "argument, or an argument changed with NumPy before use. Run it uncompiled, or "
                    "make that value a Tensor argument."
                )
        self.verified = True

    def _agree(self, eager, replayed):
        if self.exact or eager.dtype.kind != "f":
            return eager.tobytes() == replayed.tobytes()  # (to the bit: -0.0 too)
        tolerance = 1e3 * np.finfo(eager.dtype).eps  # rounding, summed over many terms; a frozen value is far off
        return np.allclose(replayed, eager, rtol=tolerance, atol=tolerance, equal_nan=True)


def _warn_of_unread_arrays(tracer, arguments, returned):
    """An array argument that no op reads is either unused or computed with by NumPy (1 / t,
    float(t)), and what NumPy made from it is frozen in the tape: say so, at the trace."""
    read = {s for step in tracer.steps for s in (*step.inputs, *slots_in(step.params))} | set(returned)
    unread = set(tracer.plain_arrays) - {k for slot, k in arguments if slot in read}
    for k in sorted(unread):
        warnings.warn(
            f"tl.compile: argument {k} (an array of shape {tracer.keep[k].shape}) reaches no op when traced: if "
            "the function computes with it in NumPy (1 / t, float(t)), that result is frozen in the tape at its "
            "first value. Pass it as a Tensor: arithmetic on a Tensor is ops, replayed at each call",
            stacklevel=5,
        )


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
        if self.seq < last_change():
            _check_unchanged(self.ops, self.seq)
        return self.tape._backward(list(grads), self.ops, not graph_kept())


def _check_unchanged(ops, seq):
    """Refuse, as the engine does, when an array an op saved was changed in place since."""
    for op in ops:
        for value in op.__dict__.values() if op is not None else ():
            change = changed_after(value, seq)
            if change is not None:
                raise RuntimeError(changed_error(change, f"the compiled function's {type(op).__name__} saved it"))
