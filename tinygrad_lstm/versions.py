"""In-place changes, and the check that keeps them from corrupting a gradient. Machinery: the
backward walk calls check_unchanged(fn) before an op's rule runs, and nothing else here.

An op's backward uses values it saved in the forward pass: its inputs, its output. If the
library changes one in place in between (optimizer.step(), load_state_dict, x.add_(...)),
those values are gone, and the gradient would be silently wrong: backward refuses, as torch's
version counter makes it refuse. A change is recorded against the memory it wrote (the array
that owns it), so a view of it, a detached tensor or a row of it counts too. It is stamped with
a number from the counter that orders the ops (op_number), so "changed after op fn saved it"
is stamp > fn.seq.
"""

import functools
import itertools
import weakref

import numpy as np

from .grad_mode import current_tracer

op_number = itertools.count().__next__  # numbers the recorded ops and the changes, in the order they happen

_last_change = -1
_changes = {}  # id(the array owning the memory) -> (weakref to it, stamp, what was changed by what)


def mark_changed(tensor, by):
    """Record that `by` (e.g. "Adam.step()") changed tensor.data in place."""
    global _last_change
    if current_tracer() is not None:
        raise RuntimeError(
            f"compile: {by} changes a tensor in place inside a compiled function, which a replay "
            "would not repeat; write x = x + y rather than x += y (and step the optimizer outside)"
        )
    tensor._version += 1
    _last_change = stamp = op_number()
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


def last_change():
    """The stamp of the latest in-place change: an op recorded after it needs no check."""
    return _last_change


def check_unchanged(fn):
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
    return (
        f"backward(): {change} after {saved_by} for its backward, so the gradient would come out wrong. "
        "Compute the forward pass again after the change, or make the change after backward(). "
        "(Writing into .data, or into an array you passed in, is not tracked.)"
    )
