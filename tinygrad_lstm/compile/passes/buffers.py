"""Buffer planning inside a fused op: an elementwise result written into an operand's array
when that operand is not needed after.

A NumPy call such as `v9 = tanh(v8)` makes a new array for its result and frees v8's when
v8 goes out of use: for a (32, 1024) float32 gate block, 128 KiB asked of the allocator and
given back at every call, every time step (above glibc's mmap threshold each is a system
call and fresh pages). The hand-written NumPy LSTM writes into arrays it made once instead
(`np.tanh(a, out=a)`). This pass does the same in the code a fused op runs: where a ufunc's
operand is an array the fused op itself made, of the result's shape and dtype, read by no
later line, the line becomes `v9 = tanh(v8, out=v8)`.

The numbers are the same to the bit: the ufunc runs the very loop it ran before, element by
element, only its output lands in memory that held its input. So the pass is exact.
"""

import re

_NAME = re.compile(r"\b[agkuv]\d+\b")


def reuse_buffers(writer):
    """Rewrite writer's lines in place: each ufunc call whose result can take over a dead
    operand's array gets `out=` that operand. An operand qualifies when the fused op made it
    itself (writer.fresh: a ufunc's or a product's result, not a view, not an input), no view
    of it was taken (writer.viewed), no other line holds on to it (an assignment, a save for
    backward, the return: anything but a call's operand), this is the last line that reads
    it, and it has the result's shape and dtype (not 0-d: NumPy gives those back as scalars)."""
    lines, calls = writer.lines, writer.calls
    last, held = {}, set()
    for index, line in enumerate(lines):
        for name in _NAME.findall(line):
            last[name] = index
            if index not in calls and not _is_value_line(line, name):
                held.add(name)
    for index, (result, ufunc, operands) in sorted(calls.items()):
        for operand in operands:
            name = getattr(operand, "name", None)
            if (
                name in writer.fresh
                and name not in writer.viewed
                and name not in held
                and last.get(name) == index
                and operand.shape == result.shape
                and operand.dtype == result.dtype
                and result.shape != ()
            ):
                depth = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
                arguments = ", ".join(writer.source(o) for o in operands)
                lines[index] = f"{depth}{result.name} = {writer.constant(ufunc)}({arguments}, out={name})"
                break


def _is_value_line(line, name):
    """Whether the line only reads `name` to compute a new value (v = dot(name, ...), v =
    name[...], name[...] = v): not an assignment of `name` itself to another variable or
    attribute, not a return."""
    text = line.strip()
    if text.startswith(("return", "self.", "if ", "else", "elif ")) or "; " in text:
        return False
    target, _, expression = text.partition(" = ")
    return bool(expression) and expression != name and not target.startswith("g")
