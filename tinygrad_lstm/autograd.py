"""Reverse-mode autograd: the chain rule, run backwards over a recorded graph.

Forward, every op call (an add, a matmul, a tanh) runs its Function's forward() on arrays and,
when an input needs a gradient, records the Function with the input Tensors it read. Those
Functions and Tensors are the graph. backward() then starts from the loss L, whose gradient
dL/dL is 1, and visits the ops newest first. Each op gets dL/d(its output), the sum over every
place that output was used, and its rule turns that into dL/d(each input):

    dL/d(input) = dL/d(output) * d(output)/d(input)          (the chain rule, in ops.py per op)

and adds it to what that input has collected so far. Newest first is enough for the order: an
op's inputs were all made before it, so by the time an op is visited every use of its output
(made later) has already handed its share back. At the leaves (weights, inputs made with
requires_grad=True), the sums are the gradients, and land in .grad.

Read in this order: Function (what an op is), apply (running one), backward and the walk
(the chain rule), grad (the same walk, answers returned instead of stored). The machinery
lives beside it, each named by its file: grad_mode.py (no_grad, scopes), versions.py (refusing
values changed in place), higher_order.py (create_graph: a rule run on Tensors), gradcheck.py.
docs/engine.md is a reading guide.
"""

import threading
from heapq import heappop, heappush

import numpy as np

from .convert import as_tensor
from .errors import IndexOutOfRange, ShapeError
from .grad_mode import current_scope, current_tracer, enable_grad, hook, is_grad_enabled, report
from .higher_order import rule_on_tensors
from .tensor import Tensor
from .versions import check_unchanged, last_change, op_number

__all__ = [
    "Function",
    "backward",
    "grad",
    "walk",
    "graph_kept",
    "GradientSums",
    "unbroadcast",
    "ShapeError",
    "IndexOutOfRange",
]


class Function:
    """One op. A subclass defines the op's math, forward and derivative side by side:

        forward(self, a, b, **params) -> the output array, computed from the inputs' arrays;
                                         it saves on self what backward will need
        backward(self, grad) -> dL/d(each input), from grad = dL/d(output): a tuple, one per
                                input (None for one that needs none); an op with one input
                                may return its gradient alone

    What backward reads from self, forward saved. Save an input under any name (self.a = a),
    and the output as self.out: create_graph then knows them for what they are (see
    higher_order.py); a saved float array that is neither, and does not depend on the inputs
    (a mask, a sign), is listed in the class's `constants`. A gradient may keep the output's
    broadcast shape: the engine sums it back to the input's shape (unbroadcast). An op whose
    forward returns a tuple of arrays (split, unbind) gets a list of grads, one per output,
    None for an output nothing used.

    Once recorded, an op also holds its input Tensors (`parents`), its number in the order ops
    ran (`seq`) and where in the model it ran (`scope`); needs_input_grad says which inputs
    want a gradient, so a rule may skip the others' (as torch's and tinygrad's Functions).
    """

    __slots__ = ("parents", "seq", "scope", "__dict__")  # set once per recorded op: slots are cheaper
    n_outputs = None  # set to the count by ops whose forward returns a tuple (even of one)
    constants = ()  # saved float arrays that do not change with the inputs (see higher_order.py)
    piecewise_linear = False  # relu, abs, max...: its derivative is flat between kinks (higher_order.py)
    frees_itself = False  # what it saved is freed by its own backward, not the walk's (a compiled replay's)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    class _NeedsInputGrad:  # fn.needs_input_grad: from the input Tensors, unless given (a compiled replay's op)
        def __get__(self, fn, owner=None):
            return tuple([t.requires_grad for t in fn.parents])

    needs_input_grad = _NeedsInputGrad()

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors (numbers and arrays become constants); record it in the graph
        when grad mode is on and an input needs a gradient. Returns a Tensor, or a tuple of
        them when forward returns several arrays."""
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = tuple(as_tensor(x, like=_first_tensor(inputs)) for x in inputs)
                break
        fn = cls()
        try:  # (one and two inputs spelled out: this runs for every op, and *args costs 0.15 us)
            if params:
                out = fn.forward(*[t.data for t in inputs], **params)
            elif len(inputs) == 2:
                out = fn.forward(inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                out = fn.forward(inputs[0].data)
            else:
                out = fn.forward(*[t.data for t in inputs])
        except (IndexError, ValueError) as err:
            raise _said_by_the_op(cls, inputs, err) from None
        record = False
        if is_grad_enabled():
            for t in inputs:
                if t.requires_grad:
                    fn.parents, fn.seq, fn.scope = inputs, op_number(), current_scope()
                    record = True
                    break
        if type(out) is np.ndarray:  # one output (Tensor._make, inlined: this runs for every op)
            result = _new(Tensor)
            result.data, result.requires_grad, result._ctx = out, record, fn if record else None
        else:
            result = _outputs(fn, out, record)
        if hook.traces:  # tl.compile is tracing (in this thread or another): tell it
            report(cls, inputs, params, result)
        return result


_new = object.__new__
_FREED = {}  # what a Function's __dict__ becomes once backward has used what it saved (one empty dict for all)


def _first_tensor(inputs):
    return next((t for t in inputs if isinstance(t, Tensor)), None)


def _outputs(fn, out, record):
    """forward's array(s) as Tensor(s), made by fn when it was recorded."""
    if type(out) is not tuple:  # numpy gives a scalar for a 0-d result: a Tensor always holds an array
        return Tensor._make(np.asarray(out), record, fn if record else None)
    if not record:
        return tuple([Tensor._make(o) for o in out])
    fn.n_outputs, outputs = len(out), []
    for index, o in enumerate(out):  # (a loop: split and unbind make many)
        t = Tensor._make(o, True, fn)
        t._index = index  # which output of fn it is
        outputs.append(t)
    return tuple(outputs)


def _said_by_the_op(cls, inputs, err):
    """numpy's error, told with the op's name (and the shapes, when they are the cause)."""
    name = cls.__name__.lower()
    if isinstance(err, ShapeError):
        return err
    if isinstance(err, IndexError):  # numpy's AxisError: an axis out of range
        return IndexOutOfRange(f"{name}: {err}")
    if "broadcast" in str(err):
        return ShapeError(f"{name}: cannot apply to shapes {' and '.join(str(t.shape) for t in inputs)}: {err}")
    return ValueError(f"{name}: {err}")


def unbroadcast(grad, shape):
    """Sum `grad` back to `shape`.

    Broadcasting copied the input along new leading axes and along its size-1 axes;
    every copy contributed to the loss, so the input's gradient is the sum over them.
    """
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# ----- backward(): the chain rule, newest op first --------------------------------------------


def backward(root, grad=None, retain_graph=None, create_graph=False):
    """Fill .grad of every leaf that requires grad (and of retain_grad() tensors) with
    d(root)/d(leaf), summed over paths. Without retain_graph=True, each op's saved values
    are freed as soon as its backward has run, so memory falls as the walk goes.
    create_graph=True records the backward pass itself as a graph (higher_order.py), so the
    gradients can be differentiated again; it keeps the graph unless told otherwise."""
    kept = walk([root], [grad], retain_graph, create_graph, "backward()")
    for tensor, g in kept.items():
        _accumulate(tensor, g)


def walk(roots, grads, retain_graph=None, create_graph=False, caller="backward()", wanted=None, watch=None):
    """The walk behind backward() and grad(): the gradients of roots (weighted by grads) with
    respect to the tensors that keep theirs: the leaves, retain_grad() tensors, or, given
    `wanted`, exactly those. Returns {tensor: gradient}. watch(fn, grad, input_grads), if
    given, is told each op's step as it happens (viz.explore shows them)."""
    if current_tracer() is not None:
        raise RuntimeError(
            f"compile: {caller} inside a compiled function: a replay runs the forward ops only. "
            "Compile the forward pass and the loss, and call backward() on what it returns"
        )
    if retain_graph is None:
        retain_graph = create_graph  # a graph of the gradient uses the forward graph's saved values
    grads = [_start(root, g, caller, create_graph) for root, g in zip(roots, grads)]
    outer, _walking.keeps_graph = graph_kept(), bool(retain_graph)
    try:
        if create_graph:
            with enable_grad():  # the rules' arithmetic is recorded: it is the new graph
                return _chain_rule(roots, grads, retain_graph, True, wanted, caller, watch)
        return _chain_rule(roots, grads, retain_graph, False, wanted, caller, watch)
    finally:
        _walking.keeps_graph = outer


_walking = threading.local()


def graph_kept():
    """Whether the walk running in this thread keeps what ops saved (retain_graph)."""
    return getattr(_walking, "keeps_graph", False)


def _chain_rule(roots, grads, retain_graph, create_graph, wanted, caller, watch):
    """Newest op first: hand each op dL/d(its output), run its rule, add what it gives into its
    inputs. `waiting` holds, for each op whose output got a gradient, the sum so far; `queue`
    orders those ops by their number, largest (newest) first; `kept` collects the gradients
    of the tensors that keep theirs."""
    start = _Start(roots, grads)
    waiting, kept, queue = {start: None}, {}, [(-start.seq, start)]
    sums = GradientSums(create_graph)
    check_before = last_change()  # an op recorded after the last in-place change needs no check
    while queue:
        fn = heappop(queue)[1]
        parents = fn.parents
        if parents is None:
            raise RuntimeError(GONE_THROUGH.format(caller=caller, op=type(fn).__name__))
        if fn.seq < check_before:
            check_unchanged(fn)
        grad = waiting.pop(fn)
        input_grads = rule_on_tensors(fn, grad) if create_graph else fn.backward(grad)  # the chain rule, one op
        if type(input_grads) is not tuple or len(input_grads) != len(parents):
            input_grads = _one_per_input(fn, input_grads)
        if watch is not None:
            watch(fn, grad, input_grads)
        if not retain_graph and not fn.frees_itself:  # what fn saved, and its hold on its inputs, go now
            fn.parents, fn.__dict__ = None, _FREED
        k = -1
        for parent in parents:  # (a counter: zip or enumerate would cost a tenth more per op)
            k += 1
            g = input_grads[k]  # dL/d(input k), added to what that input has collected
            if g is None or not parent.requires_grad:
                continue
            if g.shape != parent.data.shape:
                g = unbroadcast(g, parent.data.shape)
            made_by = parent._ctx
            if made_by is None or parent._retains_grad or wanted:  # a tensor that may keep its gradient:
                if wanted is None or parent in wanted:  # a leaf, retain_grad(), or one grad() wants
                    sums.add(kept, parent, g)
                if made_by is None:
                    continue
            if made_by.n_outputs:  # an op with several outputs (split): a sum per output
                sums.add_to_output(waiting, queue, made_by, parent._index, g)
            elif made_by in waiting:  # another use of the same output: add it up
                sums.add(waiting, made_by, g)
            else:  # the first gradient to reach the op that made parent: it now waits its turn
                waiting[made_by] = g
                heappush(queue, (-made_by.seq, made_by))
    return kept


def _one_per_input(fn, grads):
    """A rule's result as a tuple of one gradient per input: a list as a tuple, a gradient
    returned alone (an op with one input may) as a tuple of one; anything else refused."""
    n, name = len(fn.parents), type(fn).__name__
    if grads is None or isinstance(grads, (np.ndarray, Tensor)):
        grads = (grads,)
        if n != 1:
            raise TypeError(
                f"{name}.backward returned one gradient for its {n} inputs; return a tuple, one per "
                "input (None for one that needs none)"
            )
    if not isinstance(grads, (tuple, list)):
        raise TypeError(
            f"{name}.backward must return the inputs' gradients (arrays, or a tuple of them), "
            f"got {type(grads).__name__}"
        )
    if len(grads) != n:
        raise TypeError(
            f"{name}.backward returned {len(grads)} gradients for its {n} inputs; return one per "
            "input, None for one that needs none"
        )
    return tuple(grads)


class _Start(Function):  # where the walk starts: an op that "used" the roots and hands them their grads
    def __init__(self, roots, grads):
        self.parents, self.seq, self.scope, self.grads = tuple(roots), op_number(), (), grads

    def backward(self, _):
        return tuple(self.grads)


def _start(root, grad, caller, create_graph):
    """dL/d(root) to start from: ones for a one-element root, else the grad given, in root's dtype."""
    if not root.requires_grad:
        raise RuntimeError(
            f"{caller}: this tensor does not require grad, so there is no graph to go back "
            "through; create an input with Tensor(..., requires_grad=True) "
            "(and don't compute it under no_grad)"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{caller}: a scalar (one-element) tensor is needed to start from, got shape "
                f"{root.shape}; reduce it first (e.g. .sum()) or pass y.backward(grad) with "
                f"grad of shape {root.shape}"
            )
        grad = np.ones_like(root.data)
    elif not (create_graph and isinstance(grad, Tensor)):  # (a Tensor that may have a graph is kept as is)
        grad = np.asarray(grad)  # a Tensor gives its data (Tensor.__array__)
    if grad.dtype.kind not in "biuf":
        raise TypeError(f"{caller}: grad must hold numbers, got dtype {grad.dtype}")
    if grad.shape != root.shape:
        raise ShapeError(f"{caller}: grad has shape {grad.shape}, the tensor has shape {root.shape}")
    if isinstance(grad, Tensor):
        return grad if grad.dtype == root.dtype else grad.to(root.dtype)
    grad = grad.astype(root.data.dtype, copy=False)
    return Tensor._make(grad) if create_graph else grad


class GradientSums:
    """store[key] += g, the way the walk adds gradients up, without a new array per use where
    that is safe. A rule's result may be shared (add hands the same array to both inputs), so
    the first sum makes a fresh array, which the walk owns: later sums add into it in place.
    For a weight used at every time step, that saves a weight-sized array per step. Under
    create_graph every sum is a recorded op instead, never in place."""

    def __init__(self, create_graph):
        self.owned = None if create_graph else set()

    def add(self, store, key, g):
        old = store.get(key)
        if old is None:
            store[key] = g
        elif self.owned is not None and key in self.owned:
            old += g
            store[key] = old  # the same array; but a 0-d sum is a numpy scalar, which += replaces
        else:
            store[key] = old + g
            if self.owned is not None:
                self.owned.add(key)

    def add_to_output(self, waiting, queue, fn, k, g):
        """waiting[fn][k] += g, for output k of an op with several; fn is queued the first time."""
        if fn not in waiting:
            waiting[fn] = [None] * fn.n_outputs
            heappush(queue, (-fn.seq, fn))
        slots = waiting[fn]
        slots[k] = g if slots[k] is None else slots[k] + g


def _accumulate(tensor, g):
    """Add g to tensor.grad, in the tensor's own dtype (a Tensor g, under create_graph, by a
    recorded op, so the sum keeps its graph). One thread at a time: two threads' backward()
    into one weight must both count, as in torch."""
    with _accumulating:
        _add_to_grad(tensor, g)


_accumulating = threading.Lock()


def _add_to_grad(tensor, g):
    if tensor.grad is None:
        tensor.grad = _as_grad(g, tensor)
    elif isinstance(g, Tensor) or tensor.grad.requires_grad:
        tensor.grad = _as_grad(tensor.grad + g, tensor)
    else:
        total = np.add(tensor.grad.data, g, dtype=tensor.data.dtype, casting="unsafe")
        tensor.grad = Tensor._make(np.asarray(total))  # (a 0-d sum comes back as a numpy scalar)


def _as_grad(g, like):
    """g as like's gradient: a Tensor of like's dtype with memory of its own (the grads of
    two tensors never share memory: one may be changed in place). A Tensor keeps its graph."""
    if isinstance(g, Tensor) and g.requires_grad:
        return g.to(like.dtype)  # a recorded copy (the Cast op copies even to the same dtype): still in g's graph
    return Tensor._make(np.array(np.asarray(g), dtype=like.data.dtype))


GONE_THROUGH = (
    "{caller}: this graph was already gone back through, and what its ops saved for it "
    "(here {op}) was freed then. Pass retain_graph=True to the first backward() or grad() to go back "
    "through the same graph again (or to draw it afterwards), or compute the forward pass again."
)


# ----- grad(): the same walk, the answers handed back ------------------------------------------


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of outputs with respect to inputs, as a tuple of Tensors, as
    torch.autograd.grad: nothing is added to any .grad. Several outputs add up, each
    weighted by its grad_outputs entry (needed for outputs of more than one element).
    With create_graph=True the gradients have a graph of their own: grad of grad works.
    An input the outputs do not depend on is an error, or None with allow_unused=True."""
    outputs, inputs = _tensor_list(outputs, "outputs"), _tensor_list(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    elif not isinstance(grad_outputs, (list, tuple)):
        raise TypeError(
            f"grad(): grad_outputs must be a Tensor, an array, a list of them or None, "
            f"got {type(grad_outputs).__name__}"
        )
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for k, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(
                f"grad(): input {k} does not require grad, so it has no gradient; create it with requires_grad=True"
            )
    found = walk(outputs, grad_outputs, retain_graph, create_graph, "grad()", wanted=set(inputs))
    results = []
    for k, x in enumerate(inputs):
        g = found.get(x)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {k} (shape {x.shape}) was not used to compute the outputs, so it "
                "has no gradient; pass allow_unused=True to get None for it"
            )
        results.append(None if g is None else _as_grad(g, x))
    return tuple(results)


def _tensor_list(tensors, what):
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if not isinstance(tensors, (list, tuple)) or not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"grad(): {what} must be a Tensor or a non-empty list of Tensors")
    return tensors
