"""Pictures of the computation graph, drawn with Graphviz.

draw_graph(root) walks back from root through every op that produced it and returns a
graphviz.Digraph: boxes for tensors (name, shape, optional value/grad statistics),
ellipses for ops. Ops are grouped in clusters by the scope they ran in: the module
(LSTM, Linear, ...), its layer, and the time step (t=0, t=1, ...). A gradient computed
with create_graph=True has a graph too: the ops of the backward pass, each group in a
cluster "backward of <op>" joined to the forward op whose derivative it computes.
The DOT text is made without Graphviz's `dot` program; only rendering (render(), or
display in Jupyter) needs it.
"""

import os
import shutil
import subprocess
from collections.abc import Mapping

import graphviz

from ..checks import check_number
from ..files import write_atomically
from ..higher_order import BackwardOf
from ..nn.module import Module
from ..tensor import Tensor

# What to install, in one sentence; each caller adds how to get the DOT text without it.
INSTALL_HINT = (
    "Graphviz's `dot` program is not installed; install it with `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`"
)

# Colours, with the legend drawn on every picture.
COLORS = {
    "parameter": "#a6cee3",
    "input": "#fdbf6f",
    "constant": "#eeeeee",
    "gate": "#b2df8a",
    "state": "#fb9a99",
    "tensor": "#ffffff",
    "root": "#cab2d6",
}
OP_COLOR, BACKWARD_OP_COLOR = "#f0f0f0", "#e7d4e8"  # an op of the forward pass; one computing a derivative
GATE_ORDER = "figorzn"  # gates left to right in this order in every step: f i g o as in the equations (f*c beside i*g)
GATES, STATES = set(GATE_ORDER), {"c", "h"}


class Graph(graphviz.Digraph):
    """A Digraph whose Jupyter display explains how to install Graphviz when `dot` is missing."""

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(f"{INSTALL_HINT}; the DOT text needs no Graphviz: it is graph.source") from None


def draw_graph(
    root, params=None, show_values=False, show_grads=False, collapse="auto", max_nodes=1500, max_steps=12, legend=True
):
    """The graph that produced `root`, as a graphviz.Digraph.

    params       a Module or {name: Tensor}: parameters are labelled with their names
    show_values  add mean/std/min/max of each tensor's data to its label (a one-number tensor: its value)
    show_grads   add the norm of each tensor's .grad (leaves after backward, and retain_grad() ones;
                 a one-number tensor: the signed gradient itself)
    collapse     True: draw one time step of each recurrent layer, marked "x T", instead of all;
                 "auto": do that when a layer runs more than max_steps steps (side by side,
                 more would make a picture too wide to read) or the graph has more than max_nodes nodes
    max_nodes    above this many nodes (after collapsing) refuse with a clear message:
                 dot would take minutes on such a picture, and nobody can read it
    """
    return drawing(root, params, show_values, show_grads, collapse, max_nodes, max_steps, legend).dot


class GraphTooLarge(ValueError):
    """A graph with more nodes than max_nodes. `hint` names the way out in the API's words;
    a command line can say the same with its own options (nodes, max_nodes, collapsible)."""

    def __init__(self, caller, nodes, max_nodes, collapsible):
        self.nodes, self.max_nodes, self.collapsible = nodes, max_nodes, collapsible
        hint = "pass collapse=True to draw one time step, or " if collapsible else ""
        super().__init__(
            f"{caller}: the graph has {nodes} nodes, more than max_nodes={max_nodes}; "
            f"{hint}raise max_nodes (rendering may then take long), or draw a shorter sequence"
        )


class Drawing:
    """What draw_graph drew: the Digraph, and which node stands for each tensor and op (the
    explorer page finds them again by these ids in the SVG that dot makes)."""

    def __init__(self, dot, tensors, functions, tensor_id, function_id, kept_tensors, kept_functions, drawn_as):
        self.dot, self.tensors, self.functions = dot, tensors, functions
        self.tensor_id, self.function_id = tensor_id, function_id  # node key / Function -> "t3" / "f5"
        self.kept_tensors, self.kept_functions = kept_tensors, kept_functions
        self.drawn_as = drawn_as  # Function -> the id of the node drawn for it (its twin's, when collapsed)


def drawing(
    root,
    params=None,
    show_values=False,
    show_grads=False,
    collapse="auto",
    max_nodes=1500,
    max_steps=12,
    legend=True,
    caller="draw_graph",
):
    """draw_graph's work, returning a Drawing (draw_graph keeps only its .dot)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{caller}: expected the Tensor whose graph to draw, got {type(root).__name__}")
    names = _parameter_names(params, caller)
    tensors, functions = _walk(root)
    steps = _time_steps(functions)
    if collapse == "auto":
        longest = max((t + 1 for _, t in steps.values()), default=0)
        collapse = bool(steps) and (len(tensors) + len(functions) > max_nodes or longest > max_steps)
    elif collapse not in (True, False):
        raise ValueError(f"{caller}: collapse must be True, False or 'auto', got {collapse!r}")
    kept_functions = set(functions)
    step_count = {}
    if collapse:
        kept_functions, step_count = _collapse(functions, steps)
    kept_tensors = _kept_tensors(root, tensors, kept_functions)
    total = len(kept_tensors) + len(kept_functions)
    if total > max_nodes:
        raise GraphTooLarge(caller, total, max_nodes, bool(steps) and not collapse)

    # ordering=out: an op's outputs keep the order they are listed in (a split's pieces, an
    # unbind's time steps); and a short, final-free crossing reduction (mclimit, remincross)
    # keeps that order: time steps left to right, gates f i g o in each (tried on T=3..20)
    dot = Graph(
        "computation_graph",
        graph_attr={
            "rankdir": "BT",
            "ordering": "out",
            "remincross": "false",
            "mclimit": "0.1",
            "fontname": "Helvetica",
            "fontsize": "11",
            "nodesep": "0.15",
            "ranksep": "0.25",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.2"},
        edge_attr={"arrowsize": "0.6"},
    )
    tensor_id = {_node(t): f"t{k}" for k, t in enumerate(tensors)}
    function_id = {fn: f"f{k}" for k, fn in enumerate(functions)}
    clusters = _ClusterTree()

    kinds = set()
    # declared in the order they were computed, which is where dot starts its left-to-right
    # order from: the first time step comes first
    for t in sorted(tensors, key=lambda t: -1 if t._ctx is None else t._ctx.seq):
        if _node(t) not in kept_tensors:
            continue
        kind = _tensor_kind(t, root, names)
        kinds.add(kind)
        label = _tensor_label(t, names.get(id(t)), show_values, show_grads)
        place = clusters if t._ctx is None else clusters.node(t._ctx.scope, step_count)
        place.lines.append(
            (tensor_id[_node(t)], dict(label=label, shape="box", style="filled,rounded", fillcolor=COLORS[kind]))
        )
        if kind == "gate":
            place.gates.append((GATE_ORDER.index(t.name), tensor_id[_node(t)]))
    for fn in sorted(functions, key=lambda f: f.seq):
        if fn not in kept_functions:
            continue
        place = clusters.node(fn.scope, step_count)
        backward = _backward_of(fn)
        attrs = dict(
            label=type(fn).__name__.lower(),
            shape="ellipse",
            style="filled",
            fillcolor=BACKWARD_OP_COLOR if backward else OP_COLOR,
        )
        place.lines.append((function_id[fn], attrs))
    clusters.emit(dot)
    _derivative_edges(dot, functions, kept_functions, function_id)

    state = _state_inputs(steps)
    for fn in functions:
        if fn not in kept_functions:
            continue
        for k, t in enumerate(fn.parents):
            if _node(t) in kept_tensors:
                # the state handed from step to step does not push the next step up a rank:
                # steps stand side by side, in time order, instead of in one tall diagonal
                free = {"constraint": "false"} if (fn, k) in state else {}
                dot.edge(tensor_id[_node(t)], function_id[fn], **free)
    outputs = [t for t in tensors if _node(t) in kept_tensors and t._ctx is not None and t._ctx in kept_functions]
    for t in sorted(outputs, key=lambda t: getattr(t, "_index", 0)):  # a split's pieces in their order
        dot.edge(function_id[t._ctx], tensor_id[_node(t)])
    drawn_as = {fn: function_id[fn] for fn in kept_functions}
    if collapse:
        drawn_as.update(_recurrent_edges(dot, functions, kept_functions, kept_tensors, tensor_id, function_id, steps))
    if legend:
        _legend(dot, kinds, any(_backward_of(fn) for fn in kept_functions))
    return Drawing(dot, tensors, functions, tensor_id, function_id, kept_tensors, kept_functions, drawn_as)


def render(dot, path, timeout=60):
    """Write dot to path; the suffix picks the format (.svg, .png, .pdf, or .dot for the text,
    which needs no Graphviz). Graphviz's dot gets `timeout` seconds (None: no limit), then is
    stopped with a TimeoutError. Written through write_atomically, so a failure leaves no
    half-written picture."""
    if not isinstance(dot, graphviz.Digraph):
        raise TypeError(f"render: expected a graph from draw_graph (a graphviz.Digraph), got {type(dot).__name__}")
    check_timeout("render", timeout)
    path = os.fsdecode(path)  # str, bytes or a Path: as a str
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf", "dot", "gv"):
        raise ValueError(f"render: unknown picture format {fmt!r} in {path!r}; use .svg, .png, .pdf or .dot")
    data = dot.source.encode() if fmt in ("dot", "gv") else run_dot(dot.source, fmt, timeout, "render", dot.engine)
    return write_atomically(path, lambda f: f.write(data))


def check_timeout(who, timeout):
    """Seconds for Graphviz's dot: in (0, 86400], or None for no limit (a day at most: the
    clock's own limits are not far beyond, and beyond them the wait is an OverflowError)."""
    if timeout is not None:
        check_number(who, "timeout", timeout, "a number of seconds in (0, 86400], or None", lambda t: 0 < t <= 86400)


def run_dot(source, fmt, timeout, who, engine="dot", missing=""):
    """Graphviz's dot on DOT text: the picture's bytes in format fmt (svg, png, pdf). Stopped
    after `timeout` seconds (None: no limit) with a TimeoutError; a missing or failing dot is a
    RuntimeError, in one line, said by `who` (missing: what to add to the install hint)."""
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(INSTALL_HINT + missing)
    try:
        done = subprocess.run(
            [program, f"-K{engine}", f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:  # run() has killed it
        raise TimeoutError(f"{who}: Graphviz's dot did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.decode(errors="replace").split())  # one line
        raise RuntimeError(f"{who}: Graphviz's dot failed (exit status {done.returncode}): {said}")
    return done.stdout


# ----- walking the graph ----------------------------------------------------------------


def _walk(root):
    """Every tensor and Function that led to root, in a fixed order (breadth-first from root,
    inputs in argument order): the same graph always gives the same DOT text."""
    tensors, functions, seen_t, seen_f = [root], [], {_node(root)}, set()
    k = 0
    while k < len(tensors):
        fn = tensors[k]._ctx
        k += 1
        if fn is None or fn in seen_f:
            continue
        if fn.parents is None:
            raise ValueError(
                "backward() has freed this graph (it forgets each op's inputs as it goes); call "
                "backward(retain_graph=True) to look at the graph afterwards, or look before"
            )
        seen_f.add(fn)
        functions.append(fn)
        for parent in fn.parents:
            if _node(parent) not in seen_t:
                seen_t.add(_node(parent))
                tensors.append(parent)
    return tensors, functions


def _node(t):
    """What makes a tensor one node of the picture: a leaf is itself; any other tensor is
    output k of the op that made it, which is what the copies a gradient's graph makes of a
    saved output (lifted by higher_order.rule_on_tensors) are too, so each is drawn once."""
    return id(t) if t._ctx is None else (id(t._ctx), getattr(t, "_index", 0))


def _parameter_names(params, caller="draw_graph"):
    if params is None:
        return {}
    if not isinstance(params, (Module, Mapping)):
        raise TypeError(f"{caller}: params must be a Module or a dict of name -> Tensor, got {type(params).__name__}")
    items = params.named_parameters() if isinstance(params, Module) else params.items()
    return {id(p): name for name, p in items}


def _time_steps(functions):
    """{fn: (scope outside the step, step number)} for ops that ran inside a "t=k" scope."""
    steps = {}
    for fn in functions:
        for depth, part in enumerate(fn.scope):
            if isinstance(part, str) and part.startswith("t=") and part[2:].isdigit():
                steps[fn] = (fn.scope[:depth], int(part[2:]))
                break
    return steps


def _collapse(functions, steps):
    """Keep the first time step of each recurrent loop; return (kept functions, {loop: T})."""
    first, count = {}, {}
    for _fn, (loop, t) in steps.items():
        first[loop] = min(first.get(loop, t), t)
        count[loop] = max(count.get(loop, 0), t + 1)
    kept = {fn for fn in functions if fn not in steps or steps[fn][1] == first[steps[fn][0]]}
    return kept, count


def _step_positions(steps):
    """{fn: (loop, step, k)}: fn is the k-th op (in the order they ran) of its time step."""
    by_step = {}
    for fn in sorted(steps, key=lambda f: f.seq):
        by_step.setdefault(steps[fn], []).append(fn)
    return {fn: (loop, t, k) for (loop, t), members in by_step.items() for k, fn in enumerate(members)}


def _state_inputs(steps):
    """{(fn, k)}: input k of op fn is the recurrent state: made by the step before, or, in a
    loop's first step, the initial state (what the same op of the second step gets from the first)."""
    position = _step_positions(steps)
    at = {place: fn for fn, place in position.items()}
    state = set()
    for fn, (loop, t, k) in position.items():
        later = at.get((loop, t + 1, k))
        for j, parent in enumerate(fn.parents):
            if parent._ctx in steps and steps[parent._ctx] == (loop, t - 1):
                state.add((fn, j))
            elif later is not None and len(later.parents) > j and steps.get(later.parents[j]._ctx) == (loop, t):
                state.add((fn, j))
    return state


def _kept_tensors(root, tensors, kept_functions):
    """Tensors made by a kept op (or leaves) and used by one: others would float alone."""
    used = {_node(root)}
    for fn in kept_functions:
        used.update(_node(t) for t in fn.parents)
    return {_node(t) for t in tensors if _node(t) in used and (t._ctx is None or t._ctx in kept_functions)}


def _recurrent_edges(dot, functions, kept_functions, kept_tensors, tensor_id, function_id, steps):
    """In a collapsed picture, the state passed to the next (hidden) step loops back, dashed:
    an edge from a kept tensor to an op of the next step is drawn to that op's twin in the
    kept step (the op at the same position among its step's ops). Returns {hidden op: the id
    of its twin's node}, where the explorer shows a hidden op at work."""
    position, twin = {}, {}
    by_step = {}
    for fn in sorted(steps, key=lambda f: f.seq):
        by_step.setdefault(steps[fn], []).append(fn)
    for (loop, _t), members in by_step.items():
        for k, fn in enumerate(members):
            position[fn] = (loop, k)
            if fn in kept_functions:
                twin[(loop, k)] = fn
    drawn, drawn_as = set(), {}
    for fn in functions:
        if fn in kept_functions or fn not in steps:
            continue
        target = twin.get(position[fn])
        if target is not None:
            drawn_as[fn] = function_id[target]
        for t in fn.parents:
            if target is not None and _node(t) in kept_tensors and t._ctx in kept_functions and t._ctx in steps:
                edge = (tensor_id[_node(t)], function_id[target])
                if edge not in drawn:
                    drawn.add(edge)
                    dot.edge(
                        *edge,
                        style="dashed",
                        color="#e31a1c",
                        constraint="false",
                        label="t+1",
                        fontsize="8",
                        fontcolor="#e31a1c",
                    )
    return drawn_as


def _backward_of(fn):
    """The forward op whose derivative fn computes (fn recorded under create_graph), or None."""
    return next((part.op for part in reversed(fn.scope) if isinstance(part, BackwardOf)), None)


def _derivative_edges(dot, functions, kept_functions, function_id):
    """From each forward op in the picture to the first op of its backward: dotted, "d/d"."""
    first = {}
    for fn in sorted(kept_functions, key=lambda f: f.seq):
        forward = _backward_of(fn)
        if forward is not None and forward in kept_functions and forward not in first:
            first[forward] = fn
    for forward, fn in first.items():
        dot.edge(
            function_id[forward],
            function_id[fn],
            style="dotted",
            color="#762a83",
            constraint="false",
            label="backward",
            fontsize="8",
            fontcolor="#762a83",
        )


# ----- labels and layout ----------------------------------------------------------------


def _tensor_kind(t, root, names):
    if t is root:
        return "root"
    if id(t) in names:
        return "parameter"
    if t._ctx is None:  # a leaf given a name (x, target, h0) is one of the model's inputs
        return "input" if t.requires_grad or getattr(t, "name", None) else "constant"
    name = getattr(t, "name", None)
    return "gate" if name in GATES else "state" if name in STATES else "tensor"


def _label_text(text):
    """text as a Graphviz label shows it, as written: no backslash escapes, and no & entity
    (Graphviz would draw "R&amp;D" as "R&D")."""
    return graphviz.escape(str(text)).replace("&", "&amp;")


def _tensor_label(t, param_name, show_values, show_grads):
    name = param_name or getattr(t, "name", None)
    shape = "(" + ", ".join(str(n) for n in t.shape) + ("," if len(t.shape) == 1 else "") + ")"
    lines = [_label_text(name) if name is not None else None, shape]
    if show_values and t.data.size == 1:  # one number: the number itself
        lines.append(f"value {t.data.item():.3g}")
    elif show_values and t.data.size:
        d = t.data
        lines.append(f"mean {d.mean():.3g} std {d.std():.3g}")
        lines.append(f"min {d.min():.3g} max {d.max():.3g}")
    if show_grads and t.grad is not None:
        g = t.grad.data
        lines.append(
            f"grad {g.item():.3g}" if g.size == 1 else f"|grad| {float((g.astype('float64') ** 2).sum() ** 0.5):.3g}"
        )
    return "\n".join(line for line in lines if line is not None)


class _ClusterTree:
    """Nested Graphviz clusters, one per scope prefix: model > module > layer > time step."""

    def __init__(self, label=None, backward=False):
        self.label, self.lines, self.children, self.backward = label, [], {}, backward
        self.gates = []  # (place in GATE_ORDER, node id)

    def node(self, scope, step_count):
        place = self
        for depth, part in enumerate(scope):
            key = (part, id(part.op)) if isinstance(part, BackwardOf) else part  # one cluster per op's backward
            if key not in place.children:
                label = part
                loop = scope[:depth]
                if part.startswith("t=") and loop in step_count:
                    label = f"{part}  (one of T={step_count[loop]} steps, the rest not drawn)"
                place.children[key] = _ClusterTree(label, isinstance(part, BackwardOf))
            place = place.children[key]
        return place

    def emit(self, graph, prefix="cluster"):
        for node_id, attrs in self.lines:
            graph.node(node_id, **attrs)
        if len(self.gates) > 1:  # one row, in gate order (left to right the same in every step)
            with graph.subgraph() as row:
                row.attr(rank="same")
                gates = [node_id for _, node_id in sorted(self.gates)]
                for a, b in zip(gates, gates[1:]):
                    row.edge(a, b, style="invis")
        for k, child in enumerate(self.children.values()):
            with graph.subgraph(name=f"{prefix}_{k}") as sub:
                sub.attr(
                    label=_label_text(child.label),
                    style="rounded,dashed" if child.backward else "rounded",
                    color="#762a83" if child.backward else "#999999",
                    fontsize="10",
                    labeljust="l",
                )
                child.emit(sub, f"{prefix}_{k}")


def _legend(dot, kinds, backward_ops):
    """The colours of the kinds in the picture, and no others."""
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", style="rounded", color="#cccccc", fontsize="9")
        previous = None
        for kind in [k for k in COLORS if k in kinds]:
            node_id = f"legend_{kind}"
            legend.node(
                node_id,
                label=kind if kind != "gate" else "gate (f i g o)",
                shape="box",
                style="filled,rounded",
                fillcolor=COLORS[kind],
                fontsize="8",
            )
            if previous:
                legend.edge(previous, node_id, style="invis")
            previous = node_id
        if backward_ops:
            legend.node(
                "legend_backward",
                label="op of the backward pass",
                shape="ellipse",
                style="filled",
                fillcolor=BACKWARD_OP_COLOR,
                fontsize="8",
            )
            if previous:
                legend.edge(previous, "legend_backward", style="invis")


def step_tensors(root, name, loop=0):
    """The tensors called `name` ("f", "h", ...) made at each time step of one recurrent loop
    (the loop-th one run, e.g. layer 0), in time order: [name at t=0, t=1, ...].
    Read off the graph by the names and scopes the layers give their ops."""
    tensors, functions = _walk(root)
    steps = _time_steps(functions)
    first_seq = {}  # each loop's first op, to number the loops in the order they ran
    for fn, (where, _) in steps.items():
        first_seq[where] = min(first_seq.get(where, fn.seq), fn.seq)
    loops = sorted(first_seq, key=first_seq.get)
    if not loops:
        raise ValueError("step_tensors: no time steps in this graph (was it made by an RNN/LSTM/GRU layer?)")
    found = {}
    for t in tensors:
        if getattr(t, "name", None) == name and t._ctx in steps and steps[t._ctx][0] == loops[loop]:
            found[steps[t._ctx][1]] = t
    if not found:
        raise ValueError(f"step_tensors: no tensor named {name!r} inside the time steps")
    return [found[k] for k in sorted(found)]
