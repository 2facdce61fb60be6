"""The reverse-mode engine: Function (one op in the graph), backward(), no_grad, gradcheck.

Forward, every op call records a Function that points at its input tensors. The graph
is those Functions and tensors; it has no cycles, so it is freed as soon as the root is.
backward() lets go of it sooner: once an op's gradients are out, the op drops what it
saved and its inputs (unless retain_graph=True), so memory falls as the walk goes.

backward(root) applies the chain rule from the root down: it orders the Functions so
that each comes after every Function that used its outputs, then walks that order once,
turning the gradient of each Function's outputs into gradients of its inputs:

    dL/d(input) = sum over uses of  dL/d(output) * d(output)/d(input)

No recursion: a loop over a queue ordered by when each op ran, so a 200,000-op chain is fine.
"""

import contextvars
import functools
import inspect
import itertools
import threading
import weakref
from heapq import heappop, heappush

import numpy as np

from .tensor import Tensor, as_tensor


class ShapeError(ValueError):
    """Inputs whose shapes an op cannot combine; the message names the op and the shapes."""


class IndexOutOfRange(ShapeError, IndexError):
    """An index or axis outside a tensor's shape: an IndexError too, which is what Python
    code expects of an index out of range (as numpy's AxisError is both)."""


_new_object = object.__new__
_next_seq = itertools.count().__next__  # numbers recorded ops in the order they ran
tracer = None  # while tl.compile traces a function: what every op run is reported to (compile.py)
retaining_graph = False  # while backward walks: whether it keeps the graph (a compiled step's Replay asks)


# ----- grad mode and scopes: per thread, as torch's ---------------------------------------
# Context variables: every thread starts with the defaults and changes only its own, so a
# `no_grad` block in one thread does not stop another from recording. (Reading one costs
# about as much as reading a global, a third of a threading.local attribute.)

_grad_enabled = contextvars.ContextVar("grad_enabled", default=True)
# Where in the model an op ran, e.g. ("LSTM", "layer 0", "t=3"). Each recorded Function
# keeps the scope it ran in; pictures of the graph use it to group ops per module and
# per time step. It changes nothing in the math.
_scope = contextvars.ContextVar("scope", default=())


def is_grad_enabled():
    return _grad_enabled.get()


_grad_is_enabled, _current_scope = _grad_enabled.get, _scope.get  # bound once: apply reads them per op


class _GradMode:
    """A context manager and decorator that sets grad mode, and puts the previous one back.

    The previous modes are kept on a stack, one per thread, so one instance can be entered
    again while it is active (nested blocks, a decorated function calling itself, two threads
    in one decorated function). A decorated generator function runs in this mode while it
    runs, and in its caller's mode while it waits between `yield`s, as torch does. no_grad
    and enable_grad decorate with or without parentheses, as torch's."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        self.__init__()  # `@no_grad` without (): decorate func at once
        return self(func)

    def __init__(self):
        self._threads = threading.local()

    @property
    def _previous(self):
        return self._threads.__dict__.setdefault("stack", [])

    def __enter__(self):
        self._previous.append(_grad_enabled.get())
        _grad_enabled.set(self.mode)

    def __exit__(self, *exc):
        _grad_enabled.set(self._previous.pop())

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                resume, value = gen.send, None  # the first resume is send(None)
                while True:
                    with self:
                        try:
                            value = resume(value)
                        except StopIteration as stop:
                            return stop.value
                    try:
                        value, resume = (yield value), gen.send
                    except GeneratorExit:
                        with self:
                            gen.close()
                        raise
                    except BaseException as err:  # thrown in by the caller: pass it on
                        value, resume = err, gen.throw
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Inside `with no_grad():` (or in a function decorated with `@no_grad()`) ops record no graph."""
    mode = False


class enable_grad(_GradMode):
    """Record the graph again inside a no_grad block."""
    mode = True


class set_grad_enabled(_GradMode):
    """set_grad_enabled(False) switches recording off at once, as a statement; as a `with`
    block it also puts the previous mode back at the end, and as a decorator it switches
    only while the function runs. True switches recording on."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        super().__init__()
        self.mode = bool(mode)
        self._previous.append(_grad_enabled.get())  # the switch happens now
        _grad_enabled.set(self.mode)
        self._switched_now = True

    def __enter__(self):
        if self._switched_now:  # `with set_grad_enabled(m):` already switched in __init__
            self._switched_now = False
        else:
            super().__enter__()

    def __call__(self, func):  # as a decorator: undo the switch, make it on each call instead
        _grad_enabled.set(self._previous.pop())
        self._switched_now = False
        return super().__call__(func)


class scope:
    """`with scope("t=3"):` labels the ops recorded inside (nested scopes stack up)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._outer = _scope.get()
        _scope.set(self._outer + (self.name,))

    def __exit__(self, *exc):
        _scope.set(self._outer)


class Function:
    """One op. Subclasses define

        forward(self, *arrays, **params) -> ndarray   (save on self what backward needs)
        backward(self, grad) -> one gradient (ndarray or None) per input

    where `grad` is dL/d(output). A gradient may keep the output's broadcast shape: the
    engine sums it back to the input's shape in one place (`unbroadcast`).
    Ops whose forward returns a tuple of arrays (split, unbind) get a list of grads in
    backward, one per output, None for an output nothing used. The arrays an op saves on
    self are what the version check watches (an in-place change to one refuses backward).
    """

    # Set only when a graph is recorded: the input Tensors (None once backward has freed the
    # op), the op's place in the order ops ran, and the scope it ran in. Slots: set once per
    # op, they are cheaper than a dict.
    __slots__ = ("parents", "seq", "scope", "__dict__")
    n_outputs = None  # set to the count by ops whose forward returns a tuple (even of one)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors (numbers become constants); record it if any input needs grad.

        Returns a Tensor, or a tuple of Tensors when forward returns a tuple of arrays.
        This runs once per op, so it is written as plain loops, nothing it could skip.
        """
        for x in inputs:
            if not isinstance(x, Tensor):  # numbers and arrays become constants (as_tensor says in which dtype)
                like = next((t for t in inputs if isinstance(t, Tensor)), None)
                inputs = tuple(as_tensor(x, like) for x in inputs)
                break
        fn = cls()
        try:
            # spelled out for one and two inputs: this line runs once per op
            if params:
                out = fn.forward(*[t.data for t in inputs], **params)
            elif len(inputs) == 2:
                out = fn.forward(inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                out = fn.forward(inputs[0].data)
            else:
                out = fn.forward(*[t.data for t in inputs])
        except ShapeError:
            raise
        except IndexError as err:  # numpy's AxisError: an axis out of range
            raise IndexOutOfRange(f"{cls.__name__.lower()}: {err}") from None
        except ValueError as err:  # numpy's own words, told with the op (and the shapes, if they are the cause)
            if "broadcast" not in str(err):
                raise ValueError(f"{cls.__name__.lower()}: {err}") from None
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise ShapeError(f"{cls.__name__.lower()}: cannot apply to shapes {shapes}: {err}") from None
        record = False
        if _grad_is_enabled():
            for t in inputs:
                if t.requires_grad:
                    fn.parents, fn.seq, fn.scope = inputs, _next_seq(), _current_scope()
                    record = True
                    break
        if type(out) is not np.ndarray:
            if type(out) is tuple:
                result = _several_outputs(fn, out, record)
                if tracer is not None:
                    tracer.record(cls, inputs, params, result)
                return result
            out = np.asarray(out)  # numpy gives a scalar for a 0-d result: a Tensor always holds an array
        result = _new_object(Tensor)  # Tensor._make, inlined
        result.data, result.requires_grad, result._ctx = out, record, fn if record else None
        if tracer is not None:  # tl.compile is watching: it writes the op down
            tracer.record(cls, inputs, params, result)
        return result


def _several_outputs(fn, out, record):
    if not record:
        return tuple(Tensor._make(o) for o in out)
    fn.n_outputs, outputs = len(out), []
    for index, o in enumerate(out):
        result = _new_object(Tensor)
        result.data, result.requires_grad, result._ctx, result._index = o, True, fn, index
        outputs.append(result)
    return tuple(outputs)


def unbroadcast(grad, shape):
    """Sum `grad` back to `shape`.

    Broadcasting copied the input along new leading axes and along its size-1 axes;
    every copy contributed to the loss, so the input's gradient is the sum over them.
    """
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def backward(root, grad=None, retain_graph=None, create_graph=False):
    """Fill .grad of every leaf that requires grad (and of retain_grad() tensors) with
    d(root)/d(leaf), summed over paths. Without retain_graph=True, each op's saved values
    are freed as soon as its backward has run, so memory falls as the walk goes.
    create_graph=True records the backward pass itself as a graph (see _backward_recorded),
    so the gradients can be differentiated again; it keeps the graph unless told otherwise."""
    _go_back([root], [grad], retain_graph, create_graph, "backward()")


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
        raise TypeError(f"grad(): grad_outputs must be a Tensor, an array, a list of them or None, "
                        f"got {type(grad_outputs).__name__}")
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for k, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {k} does not require grad, so it has no gradient; "
                               "create it with requires_grad=True")
    found = _go_back(outputs, grad_outputs, retain_graph, create_graph, "grad()", wanted=set(inputs))
    results = []
    for k, x in enumerate(inputs):
        g = found.get(x)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {k} (shape {x.shape}) was not used to compute the outputs, so it "
                               "has no gradient; pass allow_unused=True to get None for it")
        results.append(None if g is None else _as_grad(g, x))
    return tuple(results)


def _tensor_list(tensors, what):
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if not isinstance(tensors, (list, tuple)) or not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"grad(): {what} must be a Tensor or a non-empty list of Tensors")
    return tensors


def _start_grad(root, grad, caller, create_graph):
    """dL/d(root) to start from: ones for a one-element root, else the grad given, in root's dtype."""
    if not root.requires_grad:
        raise RuntimeError(f"{caller}: this tensor does not require grad, so there is no graph to go back "
                           "through; create an input with Tensor(..., requires_grad=True) "
                           "(and don't compute it under no_grad)")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"{caller}: a scalar (one-element) tensor is needed to start from, got shape "
                               f"{root.shape}; reduce it first (e.g. .sum()) or pass y.backward(grad) with "
                               f"grad of shape {root.shape}")
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


def _go_back(roots, grads, retain_graph, create_graph, caller, wanted=None, watch=None):
    """The walk behind backward() and grad(): the gradients of roots (weighted by grads) with
    respect to every tensor on the way. Without `wanted`, leaves' .grad get theirs; with it,
    the gradients of the tensors in `wanted` are returned in a dict, and no .grad changes.
    watch(fn, grad, input_grads), if given, is told each op's step as it happens (viz.explore)."""
    if tracer is not None:
        raise RuntimeError(f"compile: {caller} inside a compiled function: a replay runs the forward ops only. "
                           "Compile the forward pass and the loss, and call backward() on what it returns")
    if retain_graph is None:
        retain_graph = create_graph  # a graph of the gradient uses the forward graph's saved values
    grads = [_start_grad(root, g, caller, create_graph) for root, g in zip(roots, grads)]
    recording = _grad_enabled.set(True) if create_graph else None
    global retaining_graph
    outer, retaining_graph = retaining_graph, bool(retain_graph)
    try:
        return _walk(roots, grads, retain_graph, create_graph, wanted, caller, watch)
    finally:
        retaining_graph = outer
        if recording is not None:
            _grad_enabled.reset(recording)


def _walk(roots, grads, retain_graph, create_graph, wanted, caller, watch):
    # pending[fn] is dL/d(output of fn) summed over every use seen so far (a list, one
    # per output, for ops with several outputs); kept[t] the same for the tensors whose
    # gradient is kept: leaves, and others marked with retain_grad() (for grad(): those wanted).
    #
    # Order: a Function may run backward only when every Function that used its output
    # has. Ops are recorded in the order they ran, so an op's inputs always have smaller
    # sequence numbers than the op: taking the largest pending number first is enough.
    # The walk starts at a _Seed, an op that "used" the roots and hands them `grads`, so a
    # root goes through the same steps as every other tensor (a leaf, retain_grad, ...).
    seed = _Seed()
    seed.parents, seed.seq, seed.scope, seed.grads = tuple(roots), _next_seq(), (), grads
    pending, kept = {seed: None}, {}
    owned = _NOTHING_OWNED if create_graph else set()  # (recorded sums must not add in place)
    queue = [(-seed.seq, seed)]  # a heap of (-seq, fn): the most recent op first
    last_change = _last_change  # ops recorded after the last in-place change can skip the check
    while queue:
        fn = heappop(queue)[1]
        parents = fn.parents
        if parents is None:
            raise RuntimeError(_GONE_THROUGH.format(caller=caller, op=type(fn).__name__))
        if fn.seq < last_change:
            _check_unchanged(fn)
        grad = pending.pop(fn)
        grads = _backward_recorded(fn, grad) if create_graph else fn.backward(grad)
        if watch is not None:
            watch(fn, grad, grads)
        if not retain_graph:  # free what this op saved, and its hold on its inputs: their
            fn.parents, fn.__dict__ = None, _FREED  # arrays go as soon as nothing else needs them
        k = -1
        for parent in parents:  # (indexing grads is cheaper than zip for one or two)
            k += 1
            g = grads[k]
            if g is None or not parent.requires_grad:
                continue
            if g.shape != parent.data.shape:
                g = unbroadcast(g, parent.data.shape)
            ctx = parent._ctx
            if ctx is None or parent._retains_grad or wanted:
                if wanted is None or parent in wanted:
                    _sum_into(kept, parent, g, owned)
                if ctx is None:
                    continue
            if ctx.n_outputs is not None:
                _add_to_output(pending, queue, parent, g)
            elif ctx in pending:
                _sum_into(pending, ctx, g, owned)
            else:  # the first gradient to reach ctx: it now waits its turn
                pending[ctx] = g
                heappush(queue, (-ctx.seq, ctx))
    if wanted is not None:
        return kept
    for tensor, g in kept.items():
        _accumulate(tensor, g)


def _backward_recorded(fn, grad):
    """fn's derivative rule run on Tensors, for create_graph=True: the rule's arithmetic is
    recorded like any forward computation, so the gradient it gives has a graph of its own.

    The same rule serves both passes. A rule uses only operators and the functions in ops.py
    that take arrays or Tensors alike; it reads the values fn saved, which here are handed to
    it as the Tensors they came from (the twin below), so that their own derivatives are
    followed too. The recorded ops carry a scope naming the op whose derivative they compute."""
    twin = _lifted(fn)
    outer = _scope.set(fn.scope + (BackwardOf(fn),))
    try:
        grads = twin.backward(grad)
    finally:
        _scope.reset(outer)
    return [Tensor._make(g) if type(g) is np.ndarray else g for g in grads]  # (a constant: zeros, say)


def _lifted(fn):
    """A copy of fn whose saved arrays are Tensors again: input k's array, saved under the
    name forward gives its k-th parameter (forward(self, a, b) saves self.a, self.b), is that
    input Tensor; the output (saved as `out`, by convention) the output Tensor made by fn.
    Anything else an op saves is a constant: a mask, a shape, an index, whose derivative is zero."""
    twin = _new_object(type(fn))
    twin.parents, twin.seq, twin.scope = fn.parents, fn.seq, fn.scope
    names = _input_names(type(fn))  # forward(self, a, b): self.a is input 0 (so x.detach() beside x is not x)
    saved = dict(fn.__dict__)
    for name, value in saved.items():
        if name == "out":  # (np.asarray: numpy gives a scalar, not an array, for a 0-d result)
            saved[name] = Tensor._make(np.asarray(value), True, fn)
        elif type(value) is np.ndarray:
            k = names.get(name)
            if k is not None and k < len(fn.parents) and fn.parents[k].data is value:
                saved[name] = fn.parents[k]
    twin.__dict__ = saved
    return twin


@functools.lru_cache(maxsize=None)
def _input_names(cls):
    """{name: k} for forward's k-th array parameter: the name an op saves input k under."""
    parameters = list(inspect.signature(cls.forward).parameters)[1:]
    return {name: k for k, name in enumerate(parameters)}


class BackwardOf(str):
    """The scope of the ops that compute an op's derivative under create_graph: it reads
    "backward of Tanh" and remembers the forward op (`.op`), for pictures of the graph."""

    def __new__(cls, fn):
        self = super().__new__(cls, f"backward of {type(fn).__name__}")
        self.op = fn
        return self


# What a Function's saved values become once backward has used them (retain_graph=False).
_FREED = {}
_GONE_THROUGH = ("{caller}: this graph was already gone back through, and what its ops saved for it "
                 "(here {op}) was freed then. Pass retain_graph=True to the first backward() or grad() to go back "
                 "through the same graph again (or to draw it afterwards), or compute the forward pass again.")


# ----- in-place changes: a version counter, as torch's ------------------------------------
# An op's backward uses values it saved in the forward pass: its inputs, its output. If
# the library changes one in place in between (optimizer.step(), load_state_dict,
# x.add_(...)), those values are gone, and the gradient would be silently wrong: backward
# refuses. A change is recorded against the memory it wrote (the array that owns it), so
# a view of it, a detached tensor or a row of it counts too. It is stamped with a number
# from the counter that orders the ops, so "changed after op fn saved it" is stamp > fn.seq.

_last_change = -1
_changes = {}  # id(the array owning the memory) -> (weakref to it, stamp, what was changed by what)


def mark_changed(tensor, by):
    """Record that `by` (e.g. "Adam.step()") changed tensor.data in place."""
    global _last_change
    if tracer is not None:
        raise RuntimeError(f"compile: {by} changes a tensor in place inside a compiled function, which a replay "
                           "would not repeat; write x = x + y rather than x += y (and step the optimizer outside)")
    tensor._version += 1
    _last_change = stamp = _next_seq()
    owner = _memory_owner(tensor.data)
    name = f"{tensor.name!r}" if tensor.name else "a tensor"
    what = f"{name} of shape {tensor.shape} ({tensor.dtype}) was changed in place by {by} (version {tensor._version})"
    _changes[id(owner)] = (weakref.ref(owner, functools.partial(_forget, id(owner))), stamp, what)


def _forget(key, ref):  # the array is gone: so is its record (unless a new array took its id)
    if _changes.get(key, (None,))[0] is ref:
        del _changes[key]


def _memory_owner(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _check_unchanged(fn):
    """Refuse if an array fn saved for its backward was changed in place after fn ran."""
    for value in fn.__dict__.values():
        change = changed_after(value, fn.seq)
        if change is not None:
            owner = _memory_owner(value)
            used = [f"input {k}" for k, t in enumerate(fn.parents) if _memory_owner(t.data) is owner]
            what = " and ".join(used) or "its output"
            raise RuntimeError(changed_error(change, f"{type(fn).__name__} saved it ({what})"))


def changed_after(value, seq):
    """If value is an array changed in place (mark_changed) after the op numbered seq ran: what changed it."""
    if type(value) is np.ndarray:
        owner = _memory_owner(value)
        record = _changes.get(id(owner))
        if record is not None and record[0]() is owner and record[1] > seq:
            return record[2]
    return None


def changed_error(change, saved_by):
    return (f"backward(): {change} after {saved_by} for its backward, so the gradient would come out wrong. "
            "Compute the forward pass again after the change, or make the change after backward(). "
            "(Writing into .data, or into an array you passed in, is not tracked.)")


class _Seed(Function):  # the start of backward: hands each root its gradient, dL/d(root) = grad
    def backward(self, _):
        return self.grads


class _NothingOwned:  # under create_graph every sum is a recorded op, never an in-place add
    def __contains__(self, key):
        return False

    def add(self, key):
        pass


_NOTHING_OWNED = _NothingOwned()


def _add_to_output(pending, queue, tensor, g):
    """For ops with several outputs (split, unbind): one pending slot per output."""
    fn = tensor._ctx
    if fn not in pending:
        heappush(queue, (-fn.seq, fn))
        pending[fn] = [None] * fn.n_outputs
    slots, k = pending[fn], tensor._index
    slots[k] = g if slots[k] is None else slots[k] + g


def _sum_into(store, key, g, owned):
    """store[key] += g, without a new array per use where that is safe.

    An array an op's backward returned may be shared (add hands the same grad to both
    inputs), so the first sum makes a fresh array, which the engine owns: every later
    sum adds into that one in place. For a weight used at every time step, this saves
    allocating a weight-sized array per step.
    """
    old = store.get(key)
    if old is None:
        store[key] = g
    elif key in owned:
        old += g
        store[key] = old  # the same array; but a 0-d sum is a numpy scalar, which += replaces
    else:
        store[key] = old + g
        owned.add(key)


def _accumulate(tensor, g):
    """Add g to tensor.grad, in the tensor's own dtype (a Tensor g, under create_graph, by a
    recorded op, so the sum keeps its graph)."""
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


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check autograd against central differences, in float64.

    fn(*inputs) may return any shape: it is reduced along a fixed random direction r,
    L = sum(fn(*inputs) * r), so every output element is checked. For each element of
    each input that requires grad:   dL/dx ~ (L(x + eps) - L(x - eps)) / (2 eps).
    Returns True, or raises GradcheckError naming the input and its worst element.
    Leaves the inputs' data and .grad as they were.
    """
    inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    checked = [x for x in inputs if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    for x in checked:
        if x.data.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64 (finite differences in float32 are too coarse), "
                            f"got {x.data.dtype}")
        if not x.data.flags.writeable:
            x.data = x.data.copy()
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    direction = np.random.default_rng(seed).standard_normal(out.shape)

    analytic = [np.zeros_like(x.data) for x in checked]  # (an output with no graph depends on no input)
    if out.requires_grad:
        found = grad(out, checked, direction, allow_unused=True)
        analytic = [a if g is None else g.data for a, g in zip(analytic, found)]

    def loss():
        with no_grad():
            return float(np.sum(fn(*inputs).data * direction))

    for number, (x, auto) in enumerate(zip(checked, analytic)):
        numeric = np.zeros_like(x.data)
        for idx in np.ndindex(x.shape):
            original = x.data[idx]
            try:
                x.data[idx] = original + eps
                up = loss()
                x.data[idx] = original - eps
                down = loss()
            finally:  # even when fn raises: the input is left as it was
                x.data[idx] = original
            numeric[idx] = (up - down) / (2 * eps)
        if not np.allclose(auto, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(auto - numeric)), x.shape) if x.shape else ()
            raise GradcheckError(
                f"gradcheck: input {number} (shape {x.shape}) autograd and finite differences disagree; "
                f"worst at index {worst}: autograd {auto[worst]:.8g}, numeric {numeric[worst]:.8g}")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check second derivatives against finite differences of the first, in float64.

    For a fixed random v of fn's output shape, the gradient g(x, v) = d/dx sum(fn(x) * v)
    is itself a function of the inputs and of v, computed by grad(..., create_graph=True).
    gradcheck differentiates that function by autograd (the backward of the backward) and
    by finite differences, so every second derivative, and the dependence on v, is checked.
    """
    inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    if not any(x.requires_grad for x in inputs):
        raise ValueError("gradgradcheck: no input has requires_grad=True, nothing to check")
    with enable_grad():
        shape = fn(*inputs).shape
    rng = np.random.default_rng(seed + 1)
    v = Tensor(rng.standard_normal(shape), requires_grad=True)
    weights = [rng.standard_normal(x.shape) for x in inputs if x.requires_grad]

    def first_derivatives(*args):
        *xs, v = args
        with enable_grad():
            wrt = [x for x in xs if x.requires_grad]
            found = grad(fn(*xs), wrt, v, create_graph=True, allow_unused=True)
        total = Tensor(np.zeros(()))
        for g, w in zip(found, weights):  # one number that depends on every element of every gradient
            if g is not None:
                total = total + (g * w).sum()
        return total

    return gradcheck(first_derivatives, inputs + [v], eps=eps, atol=atol, rtol=rtol, seed=seed)
