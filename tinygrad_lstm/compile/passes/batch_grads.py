"""Batching weight gradients inside a fused op: the per-step products summed into one
weight's gradient become one product over all steps.

A recurrence uses one weight at every step, z_t = c_t + h_{t-1} W, so the weight's gradient
is a sum over the steps, each a product of that step's input and the gradient of its output:

    dL/dW = sum_t h_{t-1}^T g_t  =  [h_0; h_1; ...; h_{T-1}]^T [g_1; g_2; ...; g_T]

The left side is what backward does op by op: one small product and one addition per step.
The right side stacks the h's and the g's as the rows of two matrices and makes one product
(the hand-written NumPy LSTM does the same): one BLAS call that adds the same numbers, in
another order. So the result agrees with eager to float rounding, not to the bit: a pass of
the fast mode only.
"""

import numpy as np

from ... import ops

PRODUCTS = (ops.MatMul, ops.AddMatMul)


def weights_to_batch(run, needs, shapes):
    """The slots that two or more of the run's 2-D products (matmul, addmm) read as their
    right operand (the weight) and that need a gradient."""
    uses = {}
    for step in run:
        if step.op in PRODUCTS:
            a, w = step.inputs[-2], step.inputs[-1]
            if needs[w] and len(shapes[w]) == 2 and len(shapes[a]) == 2:
                uses[w] = uses.get(w, 0) + 1
    return {w for w, n in uses.items() if n >= 2}


def defer(step, op, batched, grad):
    """If step's product reads a batched weight: tell its op not to compute that weight's
    gradient, and return (the weight's slot, the op's left operand, the product's gradient)
    for the one product written later (write_product). Else None."""
    if step.op not in PRODUCTS or step.inputs[-1] not in batched:
        return None
    if step.op is ops.AddMatMul and grad.shape != op.product_shape:  # (c broadcast a @ b: leave it)
        return None
    op.needs_input_grad = op.needs_input_grad[:-1] + (False,)
    return step.inputs[-1], op.a, grad


def write_product(writer, pairs):
    """Write sum_t a_t^T g_t as one product of stacked rows, counting only the steps whose
    gradient came (a step whose output got no gradient adds nothing). Returns its variable."""
    listed = "".join(f"({a.name}, {g.name}), " for a, g in pairs)
    here = f"u{len(writer.names)}"
    writer.names[here] = None
    writer.line(f"{here} = [(a, g) for a, g in ({listed}) if g is not None]")
    concatenate, dot = writer.constant(np.concatenate), writer.constant(np.dot)
    writer.line(
        f"{here} = {dot}({concatenate}([a for a, _ in {here}]).T, {concatenate}([g for _, g in {here}])) "
        f"if {here} else None"
    )
    return here
