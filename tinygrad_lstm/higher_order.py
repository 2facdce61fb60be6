"""create_graph=True: an op's derivative rule run on Tensors, so that the backward pass is itself
a graph that can be differentiated again (docs/second_order.md). Machinery: the backward walk
calls rule_on_tensors(fn, grad) in place of fn.backward(grad), and nothing else here.

One rule serves both passes. A rule uses only operators and the functions in ops.py that
take arrays or Tensors alike (the `_exp`, `_dot`, ... helpers at its end). Run on arrays it
gives numbers; run on Tensors it records its own arithmetic. What it reads from `self` must
then be Tensors too, where it depends on the inputs, or the second derivative would miss that
dependence. So the rule runs on a twin of the op whose saved values are lifted back:

- a saved input (found by identity, whatever the attribute's name) becomes that input Tensor;
- the saved output, `self.out` by convention, becomes a Tensor made by the op;
- what cannot depend on the inputs stays as it is: anything that is not a float array (a
  mask, a shape, an index), and float arrays the op lists in `constants` (a sign, a dropout
  mask: piecewise constant, their derivative is 0);
- any other saved float array was computed from the inputs in forward, and a constant would
  be a silently wrong second derivative: it is refused, naming the op and the attribute.
"""

import numpy as np

from .grad_mode import scope
from .tensor import Tensor


def rule_on_tensors(fn, grad):
    """fn's derivative rule run on Tensors: the gradients of fn's inputs, each with a graph.
    The ops it records run in a scope naming fn ("backward of Tanh"), for pictures."""
    twin = _lifted(fn)
    with scope(BackwardOf(fn), within=fn.scope):
        try:
            grads = twin.backward(grad)
        except TypeError as err:
            if "Tensor" not in str(err):
                raise
            raise TypeError(
                f"create_graph: {type(fn).__name__}.backward ran on Tensors, to record the second "
                f"derivative, and a numpy function refused them ({err}). Write the rule with operators "
                "and ops (x.exp(), x.tanh(), ...) rather than np.* calls, or do not ask for "
                "create_graph through this op"
            ) from None
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    grads = [Tensor._make(g) if type(g) is np.ndarray else g for g in grads]  # (a constant: zeros, say)
    if fn.piecewise_linear:
        inputs = tuple(t for t in fn.parents if t.requires_grad)
        grads = [_connected(g, inputs) for g in grads]
    return grads


def _connected(g, inputs):
    """A piecewise linear op's gradient (ReLU's is grad times a mask) that came out constant
    still belongs to the graph of the op's inputs, with a derivative of zero, as in torch, whose
    rule for it reads the input: the next grad() gives zeros for them, not "does not require grad"."""
    if not isinstance(g, Tensor) or g.requires_grad or not inputs:
        return g
    from .ops import ConstantOf  # (ops.py builds on autograd.py, which builds on this file)

    return ConstantOf.apply(g, *inputs)


def _lifted(fn):
    """A copy of fn whose saved arrays are Tensors again where they depend on the inputs."""
    twin = object.__new__(type(fn))
    twin.parents, twin.seq, twin.scope = fn.parents, fn.seq, fn.scope
    constants = getattr(fn, "constants", ())
    saved = dict(fn.__dict__)
    for name, value in saved.items():
        if name == "out":  # (np.asarray: numpy gives a scalar, not an array, for a 0-d result)
            saved[name] = Tensor._make(np.asarray(value), True, fn)
        elif type(value) is np.ndarray and name not in constants:
            which = _input_of(fn, name, value)
            if which is not None:
                saved[name] = fn.parents[which]
            elif value.dtype.kind in "fc":
                raise RuntimeError(
                    f"create_graph: {type(fn).__name__} saved self.{name}, a float array that is neither one of its "
                    f"inputs nor its output (self.out). Its rule would treat it as a constant, and the second "
                    f"derivative would be wrong if it depends on the inputs. Compute it in backward from the inputs "
                    f"or self.out, or, if it does not change with them (a mask, a sign), list it in the class's "
                    f"constants = ({name!r},)"
                )
    twin.__dict__ = saved
    return twin


def _input_of(fn, name, value):
    """Which input a saved array is (by identity), or None. Two inputs may hold the same array
    (x and x.detach()): then the one forward names so (forward(self, a, b) saving self.b), or
    refused when that cannot tell."""
    found = [k for k, t in enumerate(fn.parents) if t.data is value]
    if len({id(fn.parents[k]) for k in found}) <= 1:
        return found[0] if found else None
    by_name = [k for k in found if _parameter_names(type(fn))[k : k + 1] == [name]]
    if by_name:
        return by_name[0]
    raise RuntimeError(
        f"create_graph: {type(fn).__name__} saved self.{name}, the array of its inputs "
        f"{' and '.join(map(str, found))}, which are different tensors (x and x.detach(), say): "
        "save it under forward's name for the input it is, so its gradient goes to the right one"
    )


def _parameter_names(cls):
    """forward's parameter names, self left out: forward(self, a, b) -> ['a', 'b']."""
    code = cls.forward.__code__
    return list(code.co_varnames[1 : code.co_argcount])


class BackwardOf(str):
    """The scope of the ops that compute an op's derivative under create_graph: it reads
    "backward of Tanh" and remembers the forward op (`.op`), for pictures of the graph."""

    def __new__(cls, fn):
        self = super().__new__(cls, f"backward of {type(fn).__name__}")
        self.op = fn
        return self
