"""A page that steps through backward() one op at a time, on the real graph.

explore(root) runs the engine's own backward walk (autograd.walk) with a watch: each
op, as the engine processes it, reports the gradient it received and the gradients it hands
its inputs. Those numbers, in that order, go into one HTML page beside the graph as
draw_graph draws it (laid out by Graphviz's dot, as SVG). The page's script only replays
them: it computes no gradient and orders nothing itself.

Nothing in .grad changes: the walk returns the leaves' gradients instead of adding them in,
and keeps the graph (retain_graph=True), so backward() can still be called afterwards.
"""

import functools
import html
import inspect
import json
import math
import os
import re

import numpy as np

from .. import autograd
from ..files import write_atomically
from .graph import COLORS, _node, _tensor_kind, check_timeout, drawing, run_dot

_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "explore_page.html")
HEAD = 6  # numbers shown of each array
HEAT = (16, 32)  # a heatmap has at most this many rows and columns (larger arrays are averaged down)


def explore(root, params=None, collapse="auto", max_nodes=1500, max_steps=20, timeout=60):
    """An Explorer: a page that steps through root.backward() one op at a time.

    params     a Module or {name: Tensor}, to label parameters by name (as draw_graph)
    collapse   as draw_graph; "auto" draws one time step of sequences longer than max_steps
               (the ops of the steps not drawn are shown at work on their twin in the drawn one)
    timeout    seconds Graphviz's dot may take to lay the graph out
    The graph is kept (retain_graph) and no .grad changes."""
    check_timeout("explore", timeout)
    recorded, leaf_grads = _record(root)
    drawn = drawing(root, params, collapse=collapse, max_nodes=max_nodes, max_steps=max_steps, caller="explore")
    svg = _svg(drawn.dot.source, timeout)
    return Explorer(_page(_data(root, drawn, recorded, leaf_grads, params), svg), len(recorded) - 1)


class Explorer:
    """The page: shown inline in Jupyter, or written to one file with save(path)."""

    def __init__(self, page, n_ops):
        self.html, self.n_ops = page, n_ops

    def save(self, path):
        """Write the page to path (one file; works opened from disk, fetches nothing). Returns path."""
        return write_atomically(path, lambda f: f.write(self.html.encode()))

    def _repr_html_(self):  # a frame of its own: the page's script and styles stay in it
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:720px;'
            'border:1px solid #ccc" sandbox="allow-scripts"></iframe>'
        )


@functools.cache  # (inspect reads the source file: once per op class is enough)
def derivative_rule(op):
    """The derivative rule written beside an op's class: its docstring, or else the comment
    on its `class` line (ops.py writes e.g. `class Tanh(Function):  # z = tanh a;  dz/da = 1 - z^2`)."""
    doc = op.__dict__.get("__doc__")
    if doc:
        return inspect.cleandoc(doc)
    try:
        first = inspect.getsource(op).splitlines()[0]
    except (OSError, TypeError):  # defined where no source is at hand
        return ""
    return first.partition("#")[2].strip()


def _record(root):
    """[(fn, grad received, [grad handed to each input])] in the engine's order (the first is
    its start, which hands the root dL/dL = 1), and the leaves' summed gradients."""
    recorded = []

    def watch(fn, grad, grads):  # copies: the engine may add into an array it owns later on
        recorded.append((fn, _copy(grad), [_copy(g) for g in grads]))

    leaves = set()
    stack, seen = [root], set()
    while stack:  # (every leaf that wants a gradient; an explicit stack, no recursion)
        t = stack.pop()
        if t._ctx is None:
            if t.requires_grad:
                leaves.add(t)
        elif t._ctx not in seen:
            seen.add(t._ctx)
            stack.extend(t._ctx.parents or ())
    found = autograd.walk([root], [None], True, False, "explore", wanted=leaves, watch=watch)
    return recorded, found


def _copy(g):
    if g is None:
        return None
    if isinstance(g, list):  # an op with several outputs: one gradient each
        return [_copy(x) for x in g]
    return np.array(g, copy=True)


def _svg(source, timeout):
    text = run_dot(source, "svg", timeout, "explore", missing="; the page is laid out by it").decode()
    return text[text.index("<svg") :]  # (the XML prologue and doctype do not belong inside HTML)


# ----- the numbers the page shows -------------------------------------------------------


def _number(x):
    x = float(x)
    return x if math.isfinite(x) else str(x)  # (JSON has no nan or inf: the page reads the words)


def _summary(a):
    """What the page shows of an array: shape, norm, range, the first numbers (exact), a heatmap."""
    if a is None:
        return None
    a = np.asarray(a)
    flat = a.astype(np.float64).ravel()
    finite = flat[np.isfinite(flat)]
    out = {
        "shape": list(a.shape),
        "size": int(a.size),
        "norm": _number(np.sqrt(np.sum(flat**2))),
        "head": [_number(x) for x in flat[:HEAD]],
    }
    if finite.size:
        out.update(min=_number(finite.min()), max=_number(finite.max()))
    if a.size > 1:
        grid = flat.reshape(1, -1) if a.ndim < 2 else a.astype(np.float64).reshape(-1, a.shape[-1])
        out["heat"] = [[_number(round(x, 5)) for x in row] for row in _shrink(grid)]
    return out


def _shrink(grid):
    """grid averaged down to at most HEAT rows and columns."""
    for axis, most in enumerate(HEAT):
        n = grid.shape[axis]
        if n > most:
            edges = np.linspace(0, n, most + 1).astype(int)
            grid = np.stack([np.take(grid, range(a, b), axis).mean(axis) for a, b in zip(edges, edges[1:])], axis)
    return grid


def _norm(g):
    return float(np.sqrt(np.sum(np.asarray(g, dtype=np.float64) ** 2)))


def _scope_text(scope):
    return " / ".join(str(part) for part in scope)


def _data(root, drawn, recorded, leaf_grads, params):
    names = {}
    if params is not None:
        items = params.named_parameters() if hasattr(params, "named_parameters") else params.items()
        names = {id(p): name for name, p in items}
    key_of = {}  # a tensor's node key -> the id of its box in the picture (None: not drawn)
    for t in drawn.tensors:
        key_of[_node(t)] = drawn.tensor_id[_node(t)] if _node(t) in drawn.kept_tensors else None

    def label(t):
        name = names.get(id(t)) or getattr(t, "name", None)
        shape = "(" + ", ".join(str(n) for n in t.shape) + ("," if len(t.shape) == 1 else "") + ")"
        return f"{name} {shape}" if name else shape

    outputs = {}  # fn -> its output tensors in the graph
    for t in drawn.tensors:
        if t._ctx is not None:
            outputs.setdefault(t._ctx, []).append(t)

    steps, final, norms = [], {}, {}
    running = {}  # node key -> the gradient summed so far (for colour only)
    for number, (fn, grad, grads) in enumerate(recorded):
        seed = number == 0
        received = []
        if not seed:
            for t in sorted(outputs.get(fn, []), key=lambda t: getattr(t, "_index", 0)):
                g = grad[t._index] if isinstance(grad, list) else grad
                final[_node(t)] = g
                received.append({"tensor": key_of[_node(t)], "label": label(t), "grad": _summary(g)})
        handed = []
        for parent, g in zip(fn.parents, grads):
            if g is not None and parent.requires_grad:
                g = autograd.unbroadcast(np.asarray(g), parent.data.shape)
                key = _node(parent)
                running[key] = g.astype(np.float64) + running.get(key, 0.0)
                if key_of.get(key):
                    norms.setdefault(key_of[key], []).append([number, _norm(running[key])])
            else:
                g = None
            handed.append({"tensor": key_of.get(_node(parent)), "label": label(parent), "grad": _summary(g)})
        steps.append(
            {
                "op": drawn.drawn_as.get(fn),
                "name": "start" if seed else type(fn).__name__.lower(),
                "scope": _scope_text(fn.scope),
                "received": received,
                "handed": handed,
            }
        )

    tensors = {}
    for t in drawn.tensors:
        node_id = key_of[_node(t)]
        if node_id is None:
            continue
        g = leaf_grads.get(t) if t._ctx is None else final.get(_node(t))
        if t is root:
            g = recorded[0][2][0]
        tensors[node_id] = {
            "label": label(t),
            "kind": _tensor_kind(t, root, names),
            "value": _summary(t.data),
            "grad": _summary(g),
            "norms": norms.get(node_id, []),
        }
    ops = {}
    for fn in drawn.kept_functions:
        cls = type(fn)
        ops[drawn.function_id[fn]] = {
            "name": cls.__name__.lower(),
            "scope": _scope_text(fn.scope),
            "rule": derivative_rule(cls),
            "where": f"{cls.__module__}.{cls.__name__}",
        }
    return {"steps": steps, "tensors": tensors, "ops": ops, "colors": COLORS}


def _page(data, svg):
    with open(_PAGE, encoding="utf-8") as f:
        page = f.read()
    # Names are data, and may hold anything: in a <script>, "</script>" or "<!--" in a string
    # would end or derail it, so <, > and & are written as \u escapes, which JSON and JavaScript
    # read back as the same characters. Both parts go in at once: neither is searched for the
    # other's marker.
    script_data = json.dumps(data, separators=(",", ":"))
    for char in "<>&":
        script_data = script_data.replace(char, f"\\u{ord(char):04x}")
    parts = {"/*DATA*/null": script_data, "<!--SVG-->": svg}
    return re.sub("|".join(map(re.escape, parts)), lambda m: parts[m.group(0)], page)
