"""Symbolic values: run an op's own forward and backward on them, and they write the NumPy
code that the op would run, line by line.

A rule in ops.py is written with Python's operators and NumPy functions (`grad * (one - z *
z)`, `np.tanh(a)`). Given a Sym instead of an array, each of those writes one line of code,
`v7 = v5 * v6`, and gives back a Sym for its result, whose shape and dtype NumPy's own rules
decide. So a run of the rules on Syms is a straight-line program with the very calls the rules
make, in their order: the same numbers to the last bit, without the cost of calling each op.
passes/fuse.py uses it to fuse a chain of elementwise ops into one.

Anything else (an attribute a Sym lacks, a NumPy function it does not write) raises
NotSymbolic: that op is simply not fused.
"""

import numpy as np


class NotSymbolic(AttributeError):
    """The op does something a Sym cannot write down (an AttributeError: hasattr() on a Sym says no)."""


class Writer:
    """The lines of one generated function, and the namespace they need."""

    def __init__(self, namespace, names):
        self.lines, self.namespace, self.names, self.depth = [], namespace, names, 1
        # what passes/buffers.py needs to know: each ufunc line's (result, ufunc, operands) by its
        # index; the values that are new arrays of their own (not views); those a view was taken of
        self.calls, self.fresh, self.viewed = {}, set(), set()

    def line(self, text):
        self.lines.append("    " * self.depth + text)

    def new(self, shape, dtype):
        name = f"v{len(self.names)}"
        self.names[name] = None
        return Sym(self, name, shape, dtype)

    def constant(self, value):
        """A name for a constant (a number, a 0-d array, a ufunc) in the namespace."""
        if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
            return repr(value) if np.isfinite(value) else f"float({str(value)!r})"
        name = f"k{id(value)}"
        self.namespace[name] = value
        return name

    def source(self, value):
        return value.name if isinstance(value, Sym) else self.constant(value)

    def emit(self, expression, operands, dtype_from, ufunc=None):
        """Write `v = expression` (operands formatted in as {0}, {1}, ...); the result's shape
        is the operands' broadcast, its dtype what dtype_from(0-d stand-ins) gives. ufunc: the
        NumPy ufunc the expression calls (the line may then be given an `out=`)."""
        shapes = [np.shape(o) if not isinstance(o, Sym) else o.shape for o in operands]
        stand_ins = [np.zeros((), o.dtype) if isinstance(o, Sym) else o for o in operands]
        try:
            with np.errstate(all="ignore"):  # (stand-ins of 0: only the result's dtype is wanted)
                dtype = np.asarray(dtype_from(*stand_ins)).dtype
            shape = np.broadcast_shapes(*shapes)
        except Exception as err:
            raise NotSymbolic(str(err)) from None
        result = self.new(shape, dtype)
        if ufunc is not None:
            self.calls[len(self.lines)] = (result, ufunc, list(operands))
        self.fresh.add(result.name)
        self.line(f"{result.name} = " + expression.format(*[self.source(o) for o in operands]))
        return result

    def emit_shaped(self, expression, operands, compute, view=False):
        """Write `v = expression`; the result's shape and dtype are those compute gives on
        stand-ins of the operands' own shapes (for what broadcasting alone does not tell:
        a product, a slice, a concatenation). view: the result may share the first operand's
        memory (a slice, a transpose, a reshape)."""
        try:
            with np.errstate(all="ignore"):
                example = np.asarray(compute(*[_shaped_like(o) for o in operands]))
        except Exception as err:
            raise NotSymbolic(str(err)) from None
        result = self.new(example.shape, example.dtype)
        if view:
            self.viewed.add(self.source(operands[0]))
        else:
            self.fresh.add(result.name)
        self.line(f"{result.name} = " + expression.format(*[self.source(o) for o in operands]))
        return result


def _shaped_like(operand):
    """A stand-in of an operand's shape and dtype, to learn a result's (zero-filled: cheap)."""
    return np.zeros(operand.shape, operand.dtype) if isinstance(operand, Sym) else operand


_OPERATORS = {  # Python's operator on arrays: the expression written, and the ufunc it calls
    "add": ("{0} + {1}", np.add),
    "sub": ("{0} - {1}", np.subtract),
    "mul": ("{0} * {1}", np.multiply),
    "truediv": ("{0} / {1}", np.true_divide),
    "pow": ("{0} ** {1}", np.power),
    "le": ("{0} <= {1}", np.less_equal),
    "lt": ("{0} < {1}", np.less),
    "ge": ("{0} >= {1}", np.greater_equal),
    "gt": ("{0} > {1}", np.greater),
}


class Sym:
    """A value in generated code: its variable's name, shape and dtype."""

    __array_priority__ = 1000

    def __init__(self, writer, name, shape, dtype):
        self.writer, self.name, self.shape, self.dtype = writer, name, tuple(shape), np.dtype(dtype)

    ndim = property(lambda self: len(self.shape))

    def __neg__(self):
        return self.writer.emit("-{0}", [self], np.negative, np.negative)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or ufunc.nout != 1:
            raise NotSymbolic(f"{ufunc.__name__}.{method} with {sorted(kwargs)}")
        calls = ", ".join("{" + str(k) + "}" for k in range(len(inputs)))
        return self.writer.emit(f"{self.writer.constant(ufunc)}({calls})", list(inputs), ufunc, ufunc)

    def __array_function__(self, func, types, args, kwargs):
        """np.where, np.dot, np.concatenate, np.zeros_like, np.empty_like: written as calls."""
        writer = self.writer
        if func in (np.shape, np.ndim) and not kwargs:  # known now: no line to write
            return func(_shaped_like(args[0]))
        if func is np.concatenate and set(kwargs) <= {"axis"}:
            pieces, axis = list(args[0]), kwargs.get("axis", 0)
            calls = "[" + "".join("{" + str(k) + "}, " for k in range(len(pieces))) + "]"
            return writer.emit_shaped(
                f"{writer.constant(func)}({calls}, axis={axis!r})", pieces, lambda *xs: np.concatenate(xs, axis=axis)
            )
        if func in (np.where, np.dot, np.zeros_like, np.empty_like) and not kwargs:
            calls = ", ".join("{" + str(k) + "}" for k in range(len(args)))
            return writer.emit_shaped(f"{writer.constant(func)}({calls})", list(args), func)
        raise NotSymbolic(f"np.{func.__name__} with {sorted(kwargs)}")

    def __getitem__(self, index):
        return self.writer.emit_shaped(f"{{0}}[{self.writer.constant(index)}]", [self], lambda a: a[index], view=True)

    def __setitem__(self, index, value):  # in place: later lines read the changed array, as the op's own code does
        self.writer.line(f"{self.name}[{self.writer.constant(index)}] = {self.writer.source(value)}")

    def __matmul__(self, other):
        return self.writer.emit_shaped("{0} @ {1}", [self, other], lambda a, b: a @ b)

    def __rmatmul__(self, other):
        return self.writer.emit_shaped("{0} @ {1}", [other, self], lambda a, b: a @ b)

    @property
    def T(self):
        return self.writer.emit_shaped("{0}.T", [self], lambda a: a.T, view=True)

    def reshape(self, *shape):
        return self.writer.emit_shaped(f"{{0}}.reshape{shape!r}", [self], lambda a: a.reshape(*shape), view=True)

    def __bool__(self):
        raise NotSymbolic("a Sym's truth value depends on the numbers")

    def __getattr__(self, name):
        raise NotSymbolic(f"a Sym has no attribute {name!r}")


def _binary(name, expression, ufunc, reflected=False):
    def method(self, other):
        operands = [other, self] if reflected else [self, other]
        return self.writer.emit(expression, operands, ufunc, ufunc)

    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


for _name, (_expression, _ufunc) in _OPERATORS.items():
    setattr(Sym, f"__{_name}__", _binary(_name, _expression, _ufunc))
    if _name in ("add", "sub", "mul", "truediv", "pow"):
        setattr(Sym, f"__r{_name}__", _binary(_name, _expression, _ufunc, reflected=True))
