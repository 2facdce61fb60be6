"""Module and Parameter: the bookkeeping every layer shares.

A Module's parameters are the Parameter attributes it holds, and those of the Modules it
holds, named by their attribute path ("encoder.weight_ih_l0"), in the order they were set:
the same names and order as PyTorch, so state dicts move between the two.
"""

from collections.abc import Mapping

import numpy as np

from ..grad_mode import scope
from ..tensor import Tensor
from ..versions import mark_changed


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates: requires_grad, float."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)


class Module:
    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        with scope(type(self).__name__):  # lets the graph picture group this module's ops
            return self.forward(*args, **kwargs)

    # ----- the parameter tree ----------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix=""):
        """(name, parameter) pairs; a parameter shared by two modules comes once, under its
        first name, as in torch."""
        seen = set()
        for name, p in self._all_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_parameters(self, prefix):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value._all_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def _dtype(self):
        """The dtype of this module's parameters (its first one's), which its inputs must have."""
        return next(self.named_parameters())[1].dtype

    def as_input(self, x, what="input"):
        """x as a Tensor in this module's dtype. Lists and arrays are converted, so
        lstm(np.random.randn(...)) works; a Tensor of another dtype is refused, as torch does,
        rather than silently computed in another precision."""
        dtype = self._dtype()
        if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
            # the array itself, converted by an op if need be: not a copy made outside the
            # ops, so that tl.compile sees the argument reach the model
            x = Tensor._make(x)
            return x if x.dtype == dtype else x.to(dtype)
        if not isinstance(x, Tensor):
            return Tensor(x, dtype=dtype)
        if x.dtype != dtype:
            other_module = f" or build the module with dtype=np.{x.dtype}" if x.dtype.kind == "f" else ""
            raise TypeError(
                f"{type(self).__name__}: {what} has dtype {x.dtype}, but the parameters are {dtype}; "
                f"convert it with x.to(np.{dtype}){other_module}"
            )
        return x

    def modules(self):
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    # ----- state dicts -----------------------------------------------------------------
    def state_dict(self):
        """{name: a copy of the parameter's array}, names as in torch."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters (each cast to its parameter's dtype).

        All-or-nothing: missing or unexpected names, wrong shapes or non-numeric values are
        all reported in one error, and then no parameter has been touched; if writing one
        fails half-way (a read-only array, Ctrl-C), those already written are put back.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict into {type(self).__name__}: expected a dict of name -> array, "
                f"got {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        problems = []
        missing = sorted(set(params) - set(state))
        unexpected = sorted(map(str, set(state) - set(params)))
        if missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        arrays = {}
        for name in sorted(set(params) & set(state)):
            value = np.asarray(state[name])  # an array, or a Tensor's data
            if value.dtype.kind not in "biuf":
                problems.append(f"{name}: expected numbers, got dtype {value.dtype}")
            elif value.shape != params[name].shape:
                problems.append(f"{name}: expected shape {params[name].shape}, got {value.shape}")
            else:
                arrays[name] = value
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems) + " (no parameter was changed)"
            )
        written = {}
        try:
            for name, value in arrays.items():
                old = params[name].data.copy()
                params[name].data[...] = value  # in place: optimizers keep pointing at the same arrays
                written[name] = old
        except BaseException as err:
            failed = name
            for done, old in written.items():
                params[done].data[...] = old
            if isinstance(err, ValueError):  # numpy's "assignment destination is read-only"
                raise ValueError(
                    f"load_state_dict into {type(self).__name__}: cannot write {failed}: {err} "
                    "(no parameter was changed)"
                ) from None
            raise
        for name in written:  # a graph recorded before this used the old values: it must not go back
            mark_changed(params[name], f"load_state_dict ({name})")

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()})"]
        for name, child in self.named_children():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines)

    def extra_repr(self):
        return ""


def uniform(shape, bound, dtype, rng):
    """U(-bound, bound): torch's default init for Linear biases and every RNN/LSTM weight."""
    return Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))
