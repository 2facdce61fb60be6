"""A run of ops becomes one op, written as straight-line NumPy code.

Matches: consecutive steps whose ops are elementwise (add, sub, mul, div, neg, exp, log,
sigmoid, tanh, relu, sqrt) or matrix products (matmul, addmm) or a gate block's activations:
a whole recurrence, step after step (an LSTM's x_t + h W^T, its gates, c = f * c + i * g and
h = o * tanh(c); a GRU's; a user's own cell written with those ops).

The run's ops are run once, at compile time, on symbolic values (symbolic.py): each op's own
forward writes the NumPy calls it makes, and each op's own backward rule the calls it makes,
newest op first, each gradient added into its inputs' as the engine adds them. The fused op
runs those lines: the very calls, in the very order, so the numbers are the same to the bit;
what it saves is one op's bookkeeping per op (making it, calling it, its gradient's way back
through the walk), which at an LSTM's small sizes costs as much as the arithmetic.
"""

import numpy as np

from ... import ops
from ...autograd import Function, unbroadcast
from ..codegen import release_dead
from ..symbolic import NotSymbolic, Sym, Writer
from ..trace import SlotRef, Step
from .batch_grads import defer, weights_to_batch, write_product
from .buffers import reuse_buffers
from .common import readers_of
from .gates import GateActivations

# The ops whose forward and backward a symbolic value can run: arithmetic, products, views.
# (Not dropout, whose forward draws random numbers: run once, at compile time, it would freeze them.)
FUSIBLE = (
    ops.Add,
    ops.Sub,
    ops.Mul,
    ops.Div,
    ops.Neg,
    ops.Exp,
    ops.Log,
    ops.Sigmoid,
    ops.Tanh,
    ops.ReLU,
    ops.Sqrt,
    ops.MatMul,
    ops.AddMatMul,
    GateActivations,
)
MOST = 400  # ops in one fused op: its generated code is compiled once, in a time that grows with its length


def fuse_elementwise(steps, returned, facts):
    """Each run of two or more consecutive elementwise steps becomes one step of a Fused op
    made for it (its inputs: the slots the run reads from outside it; its outputs: the run's
    slots read after it or returned).

    Exact unless an input that two of the run's ops read is also read by a later op: the
    engine adds that later op's gradient before the two, the fused op after their sum, and
    the sum may round apart. In an exact tape (facts.exact) such a run is left as it was; and
    a product whose weight other steps read too (a recurrence's W, at every step) is not fused,
    so the runs between the products stay exact and fused."""
    needs = facts.needs
    readers = readers_of(steps)
    fused, k = [], 0
    while k < len(steps):
        end = k
        while end < len(steps) and end - k < MOST and _fusible(steps[end], facts.exact, readers):
            end += 1
        if end - k < 2:
            fused.append(steps[k])
            k += 1
            continue
        run = steps[k:end]
        made = {s for step in run for s in step.outputs}
        inputs = list(dict.fromkeys(s for step in run for s in step.inputs if s not in made))
        outputs = [s for s in made if s in returned or any(r >= end for r in readers.get(s, []))]
        outputs.sort()
        if facts.exact and any(
            needs[s] and sum(r in range(k, end) for r in readers[s]) >= 2 and any(r >= end for r in readers[s])
            for s in inputs
        ):
            fused.extend(run)
            k = end
            continue
        try:
            op = fused_op(run, inputs, outputs, facts)
        except NotSymbolic:  # (an op that a symbolic value cannot run: left as it was)
            fused.extend(run)
        else:
            fused.append(Step(op, inputs, {}, outputs, True))
        k = end
    return fused


def _fusible(step, exact, readers):
    if exact and step.op in (ops.MatMul, ops.AddMatMul) and len(readers.get(step.inputs[-1], ())) > 1:
        return False
    return step.op in FUSIBLE and not any(isinstance(v, SlotRef) for v in step.params.values())


class Fused(Function):
    """Several elementwise ops as one; its forward and backward are generated (fused_op)."""

    members = ()
    source = ""


def fused_op(run, inputs, outputs, facts):
    """A Fused subclass whose forward and backward run the ops of `run` as NumPy lines."""
    shapes, dtypes, needs = facts.shapes, facts.dtypes, facts.needs
    namespace, names = {"unbroadcast": unbroadcast, "zeros": np.zeros, "as_array": _as_array}, {}
    forward = Writer(namespace, names)
    value = {s: Sym(forward, f"a{n}", shapes[s], dtypes[s]) for n, s in enumerate(inputs)}
    instances = []
    for step in run:  # each op's own forward, on symbols: it writes its NumPy calls
        op = object.__new__(step.op)
        op.needs_input_grad = tuple(needs[s] for s in step.inputs)
        result = op.forward(*[value[s] for s in step.inputs], **step.params)
        results = result if step.several else (result,)
        if len(results) != len(step.outputs) or not all(isinstance(r, Sym) for r in results):
            raise NotSymbolic(f"{step.op.__name__} gave {type(result).__name__}")
        value.update(zip(step.outputs, results))
        instances.append(op)
    saved = sorted({v.name for op in instances for v in vars(op).values() if isinstance(v, Sym)})
    forward.line("; ".join(f"self.{name} = {name}" for name in saved) if saved else "pass")
    # (NumPy gives a 0-d result as a scalar: a Tensor holds an array)
    forward.line(f"return ({''.join(_array(value[s].name, shapes[s]) + ', ' for s in outputs)})")

    backward = Writer(namespace, names)
    backward.line("; ".join(f"{name} = self.{name}" for name in saved) if saved else "pass")
    for op in instances:  # what each op saved, as the backward function's own variables of those names
        for key, v in vars(op).items():
            if isinstance(v, Sym):
                setattr(op, key, Sym(backward, v.name, v.shape, v.dtype))
    backward.line(f"({''.join(f'g{s}, ' for s in outputs)}) = grads")
    wanted = sorted({s for s in inputs if needs[s]} | {s for step in run for s in step.outputs} - set(outputs))
    if wanted:
        backward.line(" = ".join(f"g{s}" for s in wanted) + " = None")
    counts = {}
    for step in run:
        for s in step.inputs:
            counts[s] = counts.get(s, 0) + 1
    batched = weights_to_batch(run, needs, shapes) if "batch_weight_gradients" in facts.passes else set()
    deferred = {}  # a batched weight's slot -> the (left operand, gradient) of each product that reads it
    for step, op in zip(reversed(run), reversed(instances)):  # newest first, as the walk goes
        outs = [s for s in step.outputs if needs[s]]
        if not outs:
            continue
        backward.line(f"if {' or '.join(f'g{s} is not None' for s in outs)}:")
        backward.depth += 1
        block = len(backward.lines)
        if step.several:  # an output that got no gradient gets zeros, as the op's own rule would give it
            for s in step.outputs:
                backward.line(f"if g{s} is None: g{s} = zeros({shapes[s]!r}, {backward.constant(dtypes[s])})")
            grads = op.backward([Sym(backward, f"g{s}", shapes[s], dtypes[s]) for s in step.outputs])
        else:
            grad = Sym(backward, f"g{step.outputs[0]}", shapes[step.outputs[0]], dtypes[step.outputs[0]])
            put_off = defer(step, op, batched, grad)
            if put_off is not None:
                deferred.setdefault(put_off[0], []).append(put_off[1:])
            grads = op.backward(grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        for s, g in zip(step.inputs, grads):
            if g is None or not needs[s]:
                continue
            name = backward.source(g)
            if isinstance(g, Sym) and g.shape != shapes[s]:
                name = _line(backward, f"unbroadcast({name}, {shapes[s]!r})")
            _add_into(backward, s, name, owned=counts[s] >= 3)
        if len(backward.lines) == block:  # (a product whose one gradient is put off: nothing else to do)
            backward.line("pass")
        backward.depth -= 1
    for s, pairs in deferred.items():
        product = write_product(backward, pairs)
        backward.line(f"if {product} is not None:")
        backward.depth += 1
        _add_into(backward, s, product, owned=counts[s] >= 3)
        backward.depth -= 1
    backward.line(f"return ({''.join(_array(f'g{s}', shapes[s]) + ', ' if needs[s] else 'None, ' for s in inputs)})")

    owned = sorted(s for s, n in counts.items() if n >= 3 and needs[s])
    header_f = f"def forward(self, {', '.join(f'a{n}' for n in range(len(inputs)))}):"
    header_b = "def backward(self, grads):"
    init_owned = ["    " + " = ".join(f"owned{s}" for s in owned) + " = False"] if owned else []
    if "reuse_buffers" in facts.passes:
        reuse_buffers(forward)
        if len(set(dtypes)) == 1:  # (else a gradient may come in another dtype than its value's: unknown here)
            reuse_buffers(backward)
    forward_lines = release_dead([header_f, *forward.lines], r"[av]\d+")
    backward_lines = release_dead([header_b, *init_owned, *backward.lines], r"[guv]\d+")
    source = "\n".join([*forward_lines, "", "", *backward_lines])
    exec(compile(source, "<fused>", "exec"), namespace)  # noqa: S102
    return type(
        "Fused",
        (Fused,),
        {
            "forward": namespace["forward"],
            "backward": namespace["backward"],
            "members": tuple(step.op for step in run),
            "source": source,
        },
    )


def _array(name, shape):
    return f"as_array({name})" if shape == () else name


def _as_array(value):  # a 0-d result as an array (NumPy gives a scalar); a missing gradient stays None
    return value if value is None else np.asarray(value)


def _line(writer, expression):
    name = f"u{len(writer.names)}"
    writer.names[name] = None
    writer.line(f"{name} = {expression}")
    return name


def _add_into(writer, slot, value, owned):
    """g_slot += value, as the engine adds (tape codegen's rule: see codegen._add_into)."""
    g = f"g{slot}"
    writer.line(f"if {g} is None: {g} = {value}")
    if owned:
        writer.line(f"elif owned{slot}: {g} += {value}")
        writer.line(f"else: {g} = {g} + {value}; owned{slot} = True")
    else:
        writer.line(f"else: {g} = {g} + {value}")
