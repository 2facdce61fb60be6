"""A compiled function's tape as a picture: the ops tl.compile traced, and what its rewrite
passes made of them, side by side.

Each op is an ellipse, each value that comes from outside the function (an argument, a
parameter) a box; an arrow runs from the op that makes a value to each op that reads it.
A fused op says how many ops it stands for, and which; the passes' work is what changes
between the two sides: the gate activations of each step made one op, then whole runs of
steps made one, the input's products over every step made one product before the loop.
"""

from collections import Counter

from ..compile import Compiled
from ..compile.tape import Tape
from ..compile.trace import slots_in
from ..tensor import Tensor
from .graph import COLORS, OP_COLOR, Graph, _parameter_names

FUSED_COLOR = "#b2df8a"


def draw_tape(compiled, which="both", params=None):
    """A graphviz.Digraph of the tape of `compiled` (a tl.compile'd function called at least
    once, or a Tape): which="traced" the ops as traced, "rewritten" after the passes, "both"
    (the default) the two side by side. params: a Module or {name: Tensor}, to label the
    parameters by name. A function with several tapes (several argument shapes) is drawn
    from its most recently used one."""
    tape = _tape_of(compiled)
    names = _parameter_names(params, "draw_tape")
    if which not in ("traced", "rewritten", "both"):
        raise ValueError(f"draw_tape: which must be 'traced', 'rewritten' or 'both', got {which!r}")
    dot = Graph("tape", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "newrank": "true"})
    dot.attr("node", fontname="Helvetica", fontsize="10")
    sides = {"traced": tape.traced_steps, "rewritten": tape.steps}
    for name in ("traced", "rewritten") if which == "both" else (which,):
        steps = sides[name]
        title = f"{'as traced' if name == 'traced' else 'after the passes'}: {len(steps)} ops"
        with dot.subgraph(name=f"cluster_{name}", graph_attr={"label": title, "fontsize": "14"}) as side:
            _draw_steps(side, name, tape, steps, names)
    return dot


def _tape_of(compiled):
    if isinstance(compiled, Tape):
        return compiled
    if not isinstance(compiled, Compiled):
        raise TypeError(f"draw_tape: expected a tl.compile'd function or a Tape, got {type(compiled).__name__}")
    if not compiled.tapes:
        raise ValueError("draw_tape: the function has no tape yet: call it once (the first call traces it)")
    return next(reversed(compiled.tapes.values()))


def _draw_steps(dot, side, tape, steps, names):
    made_by = {}
    for k, step in enumerate(steps):
        node = f"{side}_op{k}"
        dot.node(node, _op_label(step), style="filled", fillcolor=FUSED_COLOR if _fused(step) else OP_COLOR)
        for slot in step.outputs:
            made_by[slot] = node
    outside = {slot: t for slot, t, *_ in tape.outside}
    arguments = dict(tape.arguments)
    drawn = set()
    for k, step in enumerate(steps):
        for slot in dict.fromkeys([*step.inputs, *slots_in(step.params)]):
            source = made_by.get(slot)
            if source is None:
                source = f"{side}_in{slot}"
                if slot not in drawn:
                    drawn.add(slot)
                    kind, label = _input(slot, arguments, outside, names)
                    dot.node(source, label, shape="box", style="filled", fillcolor=COLORS[kind])
            dot.edge(source, f"{side}_op{k}")
    for index, slot in enumerate(tape.output_slots):
        node = f"{side}_out{index}"
        dot.node(node, f"output {index}", shape="box", style="filled", fillcolor=COLORS["root"])
        dot.edge(made_by.get(slot, f"{side}_in{slot}"), node)


def _fused(step):
    return hasattr(step.op, "members")


def _op_label(step):
    name = step.op.__name__
    if _fused(step):
        counts = Counter(member.__name__ for member in step.op.members)
        kinds = "\\n".join(f"{n} x {op}" for op, n in counts.most_common())
        return f"Fused: {len(step.op.members)} ops\\n{kinds}"
    if "kinds" in step.params:  # the gate block's activations
        return f"{name}\\n({', '.join(step.params['kinds'])})"
    return name


def _input(slot, arguments, outside, names):
    if slot in arguments:
        return "input", f"argument {arguments[slot]}"
    t = outside.get(slot)
    if isinstance(t, Tensor):
        shape = "x".join(map(str, t.shape)) or "scalar"
        name = names.get(id(t), t.name) or "tensor"
        return ("parameter" if t.requires_grad else "constant"), f"{name}\\n{shape}"
    return "constant", f"slot {slot}"
