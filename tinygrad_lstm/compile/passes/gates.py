"""A split whose pieces each go into one sigmoid or tanh (an LSTM's or GRU's gate block)
becomes one op: the same formulas, fewer NumPy calls, the same numbers to the bit."""

import numpy as np

from ... import ops
from ...autograd import Function
from ..trace import Step
from .common import readers_of


def fuse_gate_activations(steps, returned, facts):
    """A split whose every piece goes straight into one sigmoid or tanh, and nowhere else (an
    LSTM's or GRU's gate block: i, f, g, o), becomes one op, GateActivations: a sigmoid over
    the whole block and a tanh over the tanh pieces, in place of one call per piece. Each
    number is computed by the same formula as before, so the results are the same to the bit."""
    if facts.exact and len(set(facts.dtypes)) > 1:
        # the pieces' gradients may then differ in dtype: eager multiplies each in its own, the fused
        # rule joins them first (promoting all to the widest), which rounds otherwise
        return steps
    readers = readers_of(steps)
    kinds = {ops.Sigmoid: "sigmoid", ops.Tanh: "tanh"}
    fused, dropped = {}, set()
    for k, step in enumerate(steps):
        if step.op is not ops.Split:
            continue
        users = [readers.get(slot, []) for slot in step.outputs]
        if not all(
            len(u) == 1 and steps[u[0]].op in kinds and steps[u[0]].inputs == [slot] and slot not in returned
            for u, slot in zip(users, step.outputs)
        ):
            continue
        activations = [steps[u[0]] for u in users]
        fused[k] = Step(
            GateActivations,
            step.inputs,
            dict(step.params, kinds=tuple(kinds[a.op] for a in activations)),
            [a.outputs[0] for a in activations],
            True,
        )
        dropped.update(u[0] for u in users)
    return [fused.get(k, step) for k, step in enumerate(steps) if k not in dropped]


class GateActivations(Function):
    """Split a along axis into pieces (sizes as torch.split), then sigmoid or tanh on each
    piece (kinds), as one op. Forward: the sigmoid of the whole array, its tanh pieces
    overwritten with tanh; backward: the pieces' gradients side by side, times z - z^2
    (sigmoid's rule) or 1 - z^2 (tanh's), the very formulas of Sigmoid and Tanh."""

    def forward(self, a, sizes, axis, kinds):
        self.pieces = ops.split_slices(
            a.shape, sizes if isinstance(sizes, int) else tuple(sizes), ops.normalize_axis(axis, a.ndim, "split")
        )
        self.axis, self.kinds = axis, kinds
        z = ops.sigmoid_array(a) if "sigmoid" in kinds else np.empty_like(a)
        for where, kind in zip(self.pieces, kinds):
            if kind == "tanh":
                z[where] = np.tanh(a[where])
        self.out = z
        return tuple(z[where] for where in self.pieces)

    def backward(self, grads):
        z = self.out
        if ops.some_missing(grads):  # an unused piece's gradient is zeros
            grads = [np.zeros_like(z[where]) if g is None else g for g, where in zip(grads, self.pieces)]
        squares = z * z
        factor = z - squares
        for where, kind in zip(self.pieces, self.kinds):
            if kind == "tanh":
                factor[where] = 1 - squares[where]
        return (np.concatenate(grads, axis=self.axis) * factor,)
