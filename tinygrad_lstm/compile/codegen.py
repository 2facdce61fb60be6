"""The tape as Python code: a forward and a backward function, generated from its Steps.

An interpreter that walks a list of steps pays, for every op, a loop's bookkeeping: reading
the step, its input slots from a list, writing its outputs back, checking what to let go.
Generated code pays none of it: each op is one line, its slots are local variables, and what
to let go is a `del` written where it falls. `tape.source` holds the code, to read; a step of
an LSTM reads, forward:

    o12 = new(C12); o12.needs_input_grad = N12
    s14 = o12.forward(s9, s13, s3)              # AddMatMul: x_t + h W_hh^T
    o13 = new(C13); o13.needs_input_grad = N13
    s15, s16, s17, s18 = o13.forward(s14, **P13)  # GateActivations: i, f, g, o

and backward, newest op first, each rule's gradients added into its inputs' as the engine adds
them (the first one kept, the second a new sum, the rest added in place), so the numbers are
the engine's to the last bit:

    if g14 is not None:
        r = take(ops, 12)(g14)
        ...

Each call makes its op instances afresh (`new`), which then hold what that call's ops saved:
several calls' results may wait for backward at once.
"""

import re

import numpy as np

from ..autograd import GONE_THROUGH, unbroadcast
from .trace import SlotRef


class Program:
    """Source code and the namespace it runs in, built line by line."""

    def __init__(self):
        self.lines, self.namespace, self.names = [], {}, {}

    def line(self, text, depth=1):
        self.lines.append("    " * depth + text)

    def constant(self, value, prefix="c"):
        """A name for value in the generated code's namespace (one per distinct object)."""
        key = (prefix, id(value))
        if key not in self.names:
            self.names[key] = f"{prefix}{len(self.names)}"
            self.namespace[self.names[key]] = value
        return self.names[key]

    def build(self, name):
        """The function the lines define."""
        exec(compile("\n".join(self.lines), f"<tl.compile {name}>", "exec"), self.namespace)  # noqa: S102
        return self.namespace[name]


def release_dead(lines, names):
    """A function's lines (4 spaces a level), with `name = None` written after the statement
    that last mentions each local matching the regex `names`: a gradient or a value no longer
    needed lets its array go there, not when the function returns (with a thousand steps that
    is a thousand arrays alive at once, for which numpy must find fresh memory). A name last
    mentioned inside an `if` is let go after the whole `if`. The body holds no loops, so the
    last mention in the text is the last use."""
    pattern = re.compile(rf"\b(?:{names})\b")
    statements = []  # the body's statements, each a list of lines (an `if` with its block)
    for line in lines:
        if line.startswith("    ") and line[4] == " " and statements:
            statements[-1].append(line)  # (deeper: part of the statement above)
        else:
            statements.append([line])
    last = {}
    for k, statement in enumerate(statements):
        for line in statement:
            for name in pattern.findall(line):
                last[name] = k
    dead = [[] for _ in statements]
    for name, k in last.items():
        dead[k].append(name)
    out = []
    for statement, names_here in zip(statements, dead):
        out += statement
        if names_here and statement[0].startswith("    ") and not statement[0].lstrip().startswith("return"):
            out.append("    " + " = ".join(sorted(names_here)) + " = None")
    return out


def forward_function(steps, arguments, outside, outputs, shapes, needs, let_go, keep_all):
    """def forward(values, ops): run each step's op on its inputs, fill ops with the op
    instances (what they saved is the call's), return the output slots' arrays (or, keep_all,
    every slot's, for verify())."""
    p = Program()
    p.namespace.update(new=object.__new__, asarray=np.asarray)
    p.line("def forward(values, ops):", 0)
    for slot, k in arguments:
        p.line(f"s{slot} = values[{k}]")
        p.line(f"s{slot} = s{slot}.data if type(s{slot}) is not ndarray else s{slot}")
    p.namespace["ndarray"] = np.ndarray
    for slot, tensor in outside:
        p.line(f"s{slot} = {p.constant(tensor, 't')}.data")
    for k, step in enumerate(steps):
        cls = p.constant(step.op, "C")
        need = p.constant(tuple(needs[s] for s in step.inputs), "N")
        p.line(f"o = new({cls}); o.needs_input_grad = {need}; ops.append(o)")
        args = [f"s{s}" for s in step.inputs]
        if step.params:
            args += [f"{name}={_expression(value, p)}" for name, value in step.params.items()]
        outs = ", ".join(f"s{s}" for s in step.outputs)
        if step.several:
            p.line(
                f"{outs}, = o.forward({', '.join(args)})"
                if len(step.outputs) == 1
                else f"{outs} = o.forward({', '.join(args)})"
            )
        elif shapes[step.outputs[0]] == ():  # (numpy gives a scalar for a 0-d result: a Tensor holds an array)
            p.line(f"{outs} = asarray(o.forward({', '.join(args)}))")
        else:
            p.line(f"{outs} = o.forward({', '.join(args)})")
        if any(isinstance(v, SlotRef) for v in _flat(step.params)):  # an index read from an argument
            for s in step.outputs:
                p.line(f"if s{s}.shape != {shapes[s]!r}: shape_changed(s{s}.shape, {shapes[s]!r})")
        if not keep_all and let_go[k]:
            p.line(f"del {', '.join(f's{s}' for s in let_go[k])}")
    p.namespace["shape_changed"] = _shape_changed
    if keep_all:
        p.line("return {" + ", ".join(f"{s}: s{s}" for s in _all_slots(steps, arguments, outside)) + "}")
    else:
        p.line(f"return ({', '.join(f's{s}' for s in outputs)},)")
    return p.build("forward"), "\n".join(p.lines)


def backward_function(steps, outputs, parents, shapes, needs):
    """def backward(grads, ops, free): newest op first, each op's rule on the gradient of its
    output(s), the results added into its inputs' gradients as the engine adds them. free: let
    each op's saved values go once its rule has run. Returns the gradients of the parents."""
    p = Program()
    p.namespace.update(unbroadcast=unbroadcast, take=_take, as_tuple=_as_tuple)
    p.line("def backward(grads, ops, free):", 0)
    wanted = sorted({s for step in steps for s in (*step.inputs, *step.outputs) if needs[s]} | set(outputs))
    uses = {}  # slot -> how many gradient contributions the code adds into it
    for step in steps:
        for s in step.inputs:
            if needs[s]:
                uses[s] = uses.get(s, 0) + 1
    for s in outputs:
        uses[s] = uses.get(s, 0) + 1
    if wanted:
        p.line(" = ".join(f"g{s}" for s in wanted) + " = None")
    # where a third sum may add in place; never for a piece of a split or unbind, whose gradients
    # the engine sums into new arrays (GradientSums.add_to_output: a float64 part promotes the sum)
    pieces = {s for step in steps if step.several for s in step.outputs}
    owned = [s for s, n in uses.items() if n >= 3 and s not in pieces]
    if owned:
        p.line(" = ".join(f"owned{s}" for s in owned) + " = False")
    for i, s in enumerate(outputs):
        _add_into(p, s, f"grads[{i}]", s in owned, depth=1, check_none=True)
    for k in reversed(range(len(steps))):
        step = steps[k]
        if not any(needs[s] for s in step.outputs):
            continue
        if step.several:
            p.line(f"if {' or '.join(f'g{s} is not None' for s in step.outputs)}:")
            arg = "[" + ", ".join(f"g{s}" for s in step.outputs) + "]"
        else:
            p.line(f"if g{step.outputs[0]} is not None:")
            arg = f"g{step.outputs[0]}"
        p.line(f"r = take(ops, {k}, free)({arg})", 2)
        p.line(f"if type(r) is not tuple: r = as_tuple(r, {len(step.inputs)})", 2)
        out_shape = shapes[step.outputs[0]]
        for i, s in enumerate(step.inputs):
            if not needs[s]:
                continue
            p.line(f"gi = r[{i}]", 2)
            p.line("if gi is not None:", 2)
            if shapes[s] != out_shape:  # (a gradient may keep the output's broadcast shape)
                p.line(f"if gi.shape != {shapes[s]!r}: gi = unbroadcast(gi, {shapes[s]!r})", 3)
            _add_into(p, s, "gi", s in owned, depth=3)
    p.line("return [" + ", ".join(f"g{s}" for s in parents) + "]")
    p.lines = release_dead(p.lines, r"g\d+")
    return p.build("backward"), "\n".join(p.lines)


def _add_into(p, slot, value, owned, depth, check_none=False):
    """g_slot += value, as the engine's GradientSums adds: the first kept as it is, the second
    a new array (the first may be shared), then, for slots that get three or more, in place."""
    g = f"g{slot}"
    if check_none:
        p.line(f"if {value} is not None:", depth)
        depth += 1
    p.line(f"if {g} is None: {g} = {value}", depth)
    if owned:
        p.line(f"elif owned{slot}: {g} += {value}", depth)
        p.line(f"else: {g} = {g} + {value}; owned{slot} = True", depth)
    else:
        p.line(f"else: {g} = {g} + {value}", depth)


def _take(ops, k, free):
    """Op k's rule (its saved values still there), the op let go from ops if free."""
    op = ops[k]
    if op is None:
        raise RuntimeError(GONE_THROUGH.format(caller="backward()", op=f"the compiled function's op {k}"))
    if free:
        ops[k] = None
    return op.backward


def _as_tuple(grads, n):
    """A rule's result as a tuple (an op with one input may return its gradient alone)."""
    if isinstance(grads, list):
        return tuple(grads)
    return (grads,) if n == 1 else tuple(grads)


def _expression(value, p):
    """Source for an op's parameter: a slot's local for a SlotRef, a name for a constant."""
    if isinstance(value, SlotRef):
        return f"s{value.k}"
    if isinstance(value, tuple) and any(isinstance(v, SlotRef) for v in _flat(value)):
        return "(" + "".join(f"{_expression(v, p)}, " for v in value) + ")"
    return p.constant(value, "P")


def _flat(value):
    if isinstance(value, dict):
        value = tuple(value.values())
    if isinstance(value, tuple):
        for v in value:
            yield from _flat(v)
    else:
        yield value


def _all_slots(steps, arguments, outside):
    slots = [s for s, _ in arguments] + [s for s, _ in outside]
    return slots + [s for step in steps for s in step.outputs]


def _shape_changed(now, then):
    raise RuntimeError(
        f"compile: an op's output has shape {now} now and had {then} when traced: its shape depends on the "
        "values (a boolean mask?), which a trace cannot follow. Run it uncompiled."
    )
