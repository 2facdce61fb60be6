"""A one-layer LSTM training step written by hand in NumPy, forward and backpropagation
through time: the reference that benchmarks/lstm_step.py measures tinygrad_lstm against.

It is meant to be the fastest plain NumPy we can write, because a slow reference flatters
every ratio. At small sizes a step is a few dozen NumPy calls of about half a microsecond
each, so the loop bodies are kept to as few calls as the math allows; everything that does
not depend on the previous step is done for all steps at once, outside the loops.

The math (torch's conventions, gate order i, f, g, o in the weights):
    z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                      (B, 4H)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
    c_t = f * c_{t-1} + i * g;    h_t = o * tanh(c_t);    loss = mean((h - target)^2)
"""

import numpy as np


def lstm_forward_backward(x, target, w_ih, w_hh, b_ih, b_hh):
    """Return (loss, grads) for loss = mean((out - target)^2), out the hidden state at every step.

    x (T, B, I), target (T, B, H), h_0 = c_0 = 0; grads = (d w_ih, d w_hh, d b_ih, d b_hh).
    """
    T, B, I = x.shape
    H = w_hh.shape[1]
    dtype = x.dtype
    half = np.asarray(0.5, dtype)  # a 0-d array of x's dtype: NumPy need not convert a Python float per call

    # Inside this function the gates are in the order o, i, f, g, so that the three sigmoid
    # gates are one block of columns [0, 3H) and the three gates that dc reaches backward
    # (i, f, g) are one block [H, 4H): each is then one NumPy call, not two.
    # sigmoid(z) = 1/2 + tanh(z/2)/2, so one tanh call serves all four gates if the rows
    # of o, i, f are scaled by 1/2 beforehand (exact: a power of two). The gradients are
    # taken with respect to the unscaled z and put back into torch's order at the end.
    order = np.r_[3 * H:4 * H, 0:3 * H]
    scale = np.ones(4 * H, dtype)
    scale[:3 * H] = half
    w_ih_t = np.ascontiguousarray(w_ih[order].T * scale)  # (I, 4H); C order: OpenBLAS is slower with
    w_hh_t = np.ascontiguousarray(w_hh[order].T * scale)  # (H, 4H)   a transposed right operand
    w_hh_o = w_hh[order]  # (4H, H), unscaled, for dh_{t-1} = dz_t W_hh
    bias = (b_ih + b_hh)[order] * scale

    # ----- forward ---------------------------------------------------------------------
    # acts holds z_t for every step, overwritten in place by the activations o, i, f, g.
    # The input projection of all steps is one matmul.
    acts = np.dot(x.reshape(T * B, I), w_ih_t).reshape(T, B, 4 * H)
    acts += bias
    hs = np.zeros((T + 1, B, H), dtype)  # hs[t] = h_{t-1}: hs[0] = h_0 = 0, hs[1:] is the output
    cs = np.zeros((T + 1, B, H), dtype)  # cs[t] = c_{t-1}, likewise
    tanh_cs = np.empty((T, B, H), dtype)
    hz = np.empty((B, 4 * H), dtype)
    ig = np.empty((B, H), dtype)
    # The loop walks over per-step views made once (list() of an array is cheaper than indexing).
    for a, h_prev, h, c_prev, c, tanh_c in zip(acts, hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_cs):
        np.dot(h_prev, w_hh_t, out=hz)
        np.add(a, hz, out=a)
        np.tanh(a, out=a)
        sig = a[:, :3 * H]  # o, i, f: tanh(z/2) -> 1/2 + tanh(z/2)/2 = sigmoid(z)
        np.multiply(sig, half, out=sig)
        np.add(sig, half, out=sig)
        o, i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=ig)
        np.add(c, ig, out=c)
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=h)

    out = hs[1:]
    diff = out - target
    loss = float(np.mean(diff * diff))
    d_out = np.multiply(diff, dtype.type(2 / diff.size), out=diff)  # dloss/dh_t from the loss alone

    # ----- backward --------------------------------------------------------------------
    # With dh_t the whole gradient reaching h_t and dc_t the one reaching c_t:
    #   dc_t  = dh_t * o * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}
    #   dz_o  = dh_t * tanh(c_t) * o (1 - o)
    #   dz_i  = dc_t * g * i (1 - i);   dz_f = dc_t * c_{t-1} * f (1 - f);   dz_g = dc_t * i (1 - g^2)
    #   dh_{t-1} = d_out_{t-1} + dz_t W_hh
    # Everything but dh and dc is known after the forward pass, so the local factors are
    # computed for all steps at once into dz, and the loop multiplies them by dh or dc in place.
    o, i, f, g = acts[..., :H], acts[..., H:2 * H], acts[..., 2 * H:3 * H], acts[..., 3 * H:]
    dz = np.empty_like(acts)
    dz_o, dz_i, dz_f, dz_g = dz[..., :H], dz[..., H:2 * H], dz[..., 2 * H:3 * H], dz[..., 3 * H:]
    np.subtract(1, acts[..., :3 * H], out=dz[..., :3 * H])  # 1 - s for o, i, f
    np.multiply(dz[..., :3 * H], acts[..., :3 * H], out=dz[..., :3 * H])  # s (1 - s)
    np.multiply(dz_o, tanh_cs, out=dz_o)
    np.multiply(dz_i, g, out=dz_i)
    np.multiply(dz_f, cs[:-1], out=dz_f)
    np.multiply(g, g, out=dz_g)
    np.subtract(1, dz_g, out=dz_g)
    np.multiply(dz_g, i, out=dz_g)
    # tanh_cs becomes o (1 - tanh(c)^2), the factor from dh_t to dc_t
    dh_to_dc = tanh_cs
    np.multiply(tanh_cs, tanh_cs, out=dh_to_dc)
    np.subtract(1, dh_to_dc, out=dh_to_dc)
    np.multiply(dh_to_dc, o, out=dh_to_dc)

    dz4 = dz.reshape(T, B, 4, H)  # dz4[t, :, 1:] is the (B, 3, H) block of i, f, g
    dh = np.empty((B, H), dtype)
    dc = np.zeros((B, H), dtype)
    fdc = np.empty((B, H), dtype)
    dc3 = dc[:, None, :]  # dc broadcast over the three gates i, f, g
    dz_next, f_next = np.zeros((B, 4 * H), dtype), np.zeros((B, H), dtype)  # from beyond the last step
    for t in range(T - 1, -1, -1):
        np.dot(dz_next, w_hh_o, out=dh)
        np.add(dh, d_out[t], out=dh)
        np.multiply(dc, f_next, out=fdc)
        np.multiply(dh, dh_to_dc[t], out=dc)
        np.add(dc, fdc, out=dc)
        np.multiply(dz_o[t], dh, out=dz_o[t])
        block = dz4[t, :, 1:]
        np.multiply(block, dc3, out=block)
        dz_next, f_next = dz[t], f[t]

    # The weight gradients of all steps at once: one matmul each.
    flat = dz.reshape(T * B, 4 * H)
    d_w_ih = np.dot(x.reshape(T * B, I).T, flat).T  # (4H, I), rows in o, i, f, g order
    d_w_hh = np.dot(hs[:-1].reshape(T * B, H).T, flat).T
    d_b = flat.sum(axis=0)
    back = np.argsort(order)  # o, i, f, g -> i, f, g, o
    return loss, (d_w_ih[back], d_w_hh[back], d_b[back], d_b[back])
