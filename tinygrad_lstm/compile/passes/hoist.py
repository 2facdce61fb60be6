"""Hoisting: the products that do not wait for the recurrence become one product before it.

A loop over time reads its input one step at a time, x_t = x[t] (or x.unbind(0)), and
multiplies it by a weight: x_t W. Nothing in those T products waits for the loop: they are
the rows of one product of the whole input,

    [x_0; x_1; ...; x_{T-1}] W  =  [x_0 W; x_1 W; ...; x_{T-1} W]

so this pass makes them one MatMul of x (T, B, I) by W before the loop, and hands its T
slices (an Unbind) to whatever read the T products. One BLAS call on a tall matrix in place
of T small ones, forward and backward (the weight's gradient becomes one product too). BLAS
may add each row's terms in another order in a taller product, so the results agree with
eager to float rounding: a pass of the fast mode. nn.LSTM already projects its input this
way; the pass does it for any loop written with ops (a user's own cell).
"""

import operator

from ... import ops
from ..trace import Step
from .common import new_slot, readers_of


def hoist_products(steps, returned, facts):
    """Each group of MatMul steps that multiply every slice x[0], ..., x[T-1] of one slot x
    (slices made by Unbind along axis 0 or by x[t] with an integer t) by one 2-D weight W
    becomes MatMul(x, W) right after x and W exist, and an Unbind of it into the T products'
    slots. The slices' own step is dropped when nothing else reads them."""
    made_at = {slot: k for k, step in enumerate(steps) for slot in step.outputs}
    slice_of = {}  # slot -> (the sliced slot, t, the step that sliced it)
    for k, step in enumerate(steps):
        if step.op is ops.Unbind and step.params.get("axis") == 0:
            for t, slot in enumerate(step.outputs):
                slice_of[slot] = (step.inputs[0], t, k)
        elif step.op is ops.GetItem and _is_int(step.params.get("index")):
            length = facts.shapes[step.inputs[0]][0] if facts.shapes[step.inputs[0]] else 0
            slice_of[step.outputs[0]] = (step.inputs[0], operator.index(step.params["index"]) % max(length, 1), k)
    groups = {}  # (x, W) -> {t: index of the MatMul step}
    for k, step in enumerate(steps):
        if step.op is ops.MatMul and step.inputs[0] in slice_of and len(facts.shapes[step.inputs[1]]) == 2:
            x, t, _ = slice_of[step.inputs[0]]
            groups.setdefault((x, step.inputs[1]), {}).setdefault(t, k)
    insert, dropped = {}, set()  # step index -> steps to put before it; steps to leave out
    for (x, w), at in groups.items():
        length = facts.shapes[x][0] if facts.shapes[x] else 0
        if length < 2 or sorted(at) != list(range(length)):  # (not every slice: the pieces would need slots)
            continue
        products = [steps[at[t]] for t in range(length)]
        whole = new_slot(
            facts,
            (length, *facts.shapes[products[0].outputs[0]]),
            facts.dtypes[products[0].outputs[0]],
            facts.needs[x] or facts.needs[w],
        )
        where = max(made_at.get(x, -1), made_at.get(w, -1)) + 1
        insert.setdefault(where, []).extend(
            [
                Step(ops.MatMul, [x, w], {}, [whole], False),
                Step(ops.Unbind, [whole], {"axis": 0}, [p.outputs[0] for p in products], True),
            ]
        )
        dropped.update(at.values())
    if not dropped:
        return steps
    rewritten = []
    for k, step in enumerate([*steps, None]):
        rewritten.extend(insert.get(k, []))
        if step is not None and k not in dropped:
            rewritten.append(step)
    return _without_unread_slices(rewritten, returned, slice_of)


def _without_unread_slices(steps, returned, slice_of):
    """Leave out a slicing step (Unbind, GetItem) none of whose slices anything reads now."""
    readers = readers_of(steps)
    return [
        step
        for step in steps
        if not (
            step.op in (ops.Unbind, ops.GetItem)
            and all(s in slice_of and s not in returned and not readers.get(s) for s in step.outputs)
        )
    ]


def _is_int(value):
    try:
        operator.index(value)
    except TypeError:
        return False
    return not isinstance(value, bool)
