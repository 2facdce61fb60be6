"""The library's own errors: what went wrong, named for the person who made the call."""


class ShapeError(ValueError):
    """Inputs whose shapes an op cannot combine; the message names the op and the shapes."""


class IndexOutOfRange(ShapeError, IndexError):
    """An index or axis outside a tensor's shape: an IndexError too, which is what Python
    code expects of an index out of range (as numpy's AxisError is both)."""
