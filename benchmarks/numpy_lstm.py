"""A one-layer LSTM training step written by hand in NumPy, forward and backpropagation
through time: the reference that benchmarks/lstm_step.py measures tinygrad_lstm against.

It is meant to be the fastest plain NumPy we can write, because a slow reference flatters
every ratio. At small sizes a step is a few dozen NumPy calls of about a microsecond each,
so the loops hold as few calls as the math allows, each on contiguous memory (a strided
operand sends NumPy down its general iterator, 1 µs more per call), and everything that does
not depend on the previous step is computed for all steps at once, outside the loops.

The math (torch's conventions, gate order i, f, g, o in the weights):
    z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                      4H per batch element
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
    c_t = f * c_{t-1} + i * g;    h_t = o * tanh(c_t);    loss = mean((h - target)^2)

Layout. Inside, a step's gates are a (4H, B) array, one column per batch element
(z_t^T = W h_{t-1}^T), so each gate is a block of rows: contiguous. (In torch's (B, 4H)
layout a gate is a strided slice of columns, and at B = 8, H = 32 the elementwise calls of a
step cost twice as much.) The gate order inside is o, i, f, g: the three sigmoid gates are
then one block [0, 3H), and the three gates that dc reaches in backward (i, f, g) one block
[H, 4H), each one NumPy call. sigmoid(z) = 1/2 + tanh(z/2)/2, so one tanh call serves all
four gates once the rows of o, i, f are scaled by 1/2 (exactly: a power of two).
"""

import numpy as np


def lstm_forward_backward(x, target, w_ih, w_hh, b_ih, b_hh):
    """Return (loss, grads) for loss = mean((out - target)^2), out the hidden state at every step.

    x (T, B, I), target (T, B, H), h_0 = c_0 = 0; grads = (d w_ih, d w_hh, d b_ih, d b_hh).
    """
    T, B, I = x.shape
    H = w_hh.shape[1]
    dtype = x.dtype

    def inside(a):  # rows i, f, g, o -> o, i, f, g
        return np.concatenate((a[3 * H :], a[: 3 * H]))

    def outside(a):  # o, i, f, g -> i, f, g, o
        return np.concatenate((a[H:], a[:H]))

    scale = np.ones((4 * H, 1), dtype)
    scale[: 3 * H] = 0.5
    w_ih_s = inside(w_ih) * scale  # (4H, I)
    w_hh_s = inside(w_hh) * scale  # (4H, H)
    bias = inside(b_ih + b_hh)[:, None] * scale  # (4H, 1)
    # acts[t] holds z_t (o, i, f scaled), then the activations. The input projection of all
    # steps is one call (matmul over the T steps).
    acts = np.matmul(w_ih_s, x.transpose(0, 2, 1))  # (T, 4H, B)
    acts += bias
    hs, cs, tanh_cs = _forward(acts, w_hh_s)

    diff = hs[1:] - target.transpose(0, 2, 1)  # (T, H, B)
    loss = float(np.add.reduce(diff * diff, axis=None)) / diff.size  # np.mean: the same sum, 10 µs more
    d_out = np.multiply(diff, dtype.type(2 / diff.size), out=diff)  # dloss/dh_t through the loss alone

    dz, dh_to_dc = _local_factors(acts, cs, tanh_cs)
    w_hh_t = np.ascontiguousarray(inside(w_hh).T)  # (H, 4H), unscaled: dh_{t-1}^T = W_hh^T dz_t^T
    _through_time(dz, d_out, dh_to_dc, acts[:, 2 * H : 3 * H], w_hh_t)
    del acts, cs, tanh_cs, dh_to_dc, diff, d_out  # the step's peak is then the loops', not the copies below

    # The weight gradients sum over steps and batch: one matmul each, once dz is laid out
    # as (4H, T*B) (a copy: cheaper than a matmul per step).
    flat = dz.transpose(1, 0, 2).reshape(4 * H, T * B)
    d_w_ih = np.dot(flat, x.reshape(T * B, I))
    d_w_hh = np.dot(flat, hs[:-1].transpose(0, 2, 1).reshape(T * B, H))
    d_b = outside(flat.sum(axis=1))
    return loss, (outside(d_w_ih), outside(d_w_hh), d_b, d_b.copy())


def _forward(acts, w_hh_s):
    """Run the recurrence, turning acts (T, 4H, B) into o, i, f, g in place.
    Return hs, cs (T+1, H, B), hs[t] = h_{t-1}^T with h_0 = 0 (cs likewise), and tanh(c_t)."""
    T, H4, B = acts.shape
    H = H4 // 4
    half = np.asarray(0.5, acts.dtype)  # of the arrays' dtype: NumPy need not convert a Python float per call
    hs = np.zeros((T + 1, H, B), acts.dtype)
    cs = np.zeros((T + 1, H, B), acts.dtype)
    tanh_cs = np.empty((T, H, B), acts.dtype)
    hz = np.empty((4 * H, B), acts.dtype)
    ig = np.empty((H, B), acts.dtype)
    # zip over the arrays' steps: views made in C, cheaper than indexing [t] in the loop
    for a, h_prev, h, c_prev, c, tanh_c in zip(acts, hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_cs):
        np.dot(w_hh_s, h_prev, out=hz)  # np.dot: less dispatch than np.matmul for 2-D
        np.add(a, hz, out=a)
        np.tanh(a, out=a)
        sig = a[: 3 * H]  # o, i, f: tanh(z/2) -> 1/2 + tanh(z/2)/2 = sigmoid(z)
        np.multiply(sig, half, out=sig)
        np.add(sig, half, out=sig)
        np.multiply(a[2 * H : 3 * H], c_prev, out=c)  # f * c_{t-1}
        np.multiply(a[H : 2 * H], a[3 * H :], out=ig)  # i * g
        np.add(c, ig, out=c)
        np.tanh(c, out=tanh_c)
        np.multiply(a[:H], tanh_c, out=h)  # o * tanh(c_t)
    return hs, cs, tanh_cs


# Backward. With dh_t the whole gradient reaching h_t and dc_t the one reaching c_t:
#   dc_t  = dh_t * o (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}
#   dz_o  = dh_t * tanh(c_t) o (1 - o)
#   dz_i  = dc_t * g i (1 - i);   dz_f = dc_t * c_{t-1} f (1 - f);   dz_g = dc_t * i (1 - g^2)
#   dh_{t-1} = d_out_{t-1} + W_hh^T dz_t       (d_out: what the loss gives h directly)
# Only dh and dc need the loop: the other factors are computed for all steps at once into
# dz, and the loop multiplies them by dh or dc in place.


def _local_factors(acts, cs, tanh_cs):
    """dz (T, 4H, B) holding each gate's factor above but dh or dc; and o (1 - tanh(c_t)^2),
    the factor from dh_t to dc_t, made in place of tanh_cs."""
    H = acts.shape[1] // 4
    o, i, g = acts[:, :H], acts[:, H : 2 * H], acts[:, 3 * H :]
    dz = np.empty_like(acts)
    dz_o, dz_i, dz_f, dz_g = dz[:, :H], dz[:, H : 2 * H], dz[:, 2 * H : 3 * H], dz[:, 3 * H :]
    np.subtract(1, acts[:, : 3 * H], out=dz[:, : 3 * H])  # 1 - s for s = o, i, f
    np.multiply(dz[:, : 3 * H], acts[:, : 3 * H], out=dz[:, : 3 * H])  # s (1 - s)
    np.multiply(dz_o, tanh_cs, out=dz_o)
    np.multiply(dz_i, g, out=dz_i)
    np.multiply(dz_f, cs[:-1], out=dz_f)
    np.multiply(g, g, out=dz_g)
    np.subtract(1, dz_g, out=dz_g)
    np.multiply(dz_g, i, out=dz_g)
    dh_to_dc = tanh_cs
    np.multiply(tanh_cs, tanh_cs, out=dh_to_dc)
    np.subtract(1, dh_to_dc, out=dh_to_dc)
    np.multiply(dh_to_dc, o, out=dh_to_dc)
    return dz, dh_to_dc


def _through_time(dz, d_out, dh_to_dc, f, w_hh_t):
    """Multiply dz by dh_t and dc_t, step by step from the last."""
    T, H4, B = dz.shape
    H = H4 // 4
    dh = np.empty((H, B), dz.dtype)
    dc = np.zeros((H, B), dz.dtype)
    f_dc = np.empty((H, B), dz.dtype)
    dz_next, f_next = np.zeros((4 * H, B), dz.dtype), np.zeros((H, B), dz.dtype)  # beyond the last step
    steps = zip(dz, dz.reshape(T, 4, H, B)[:, 1:], d_out, dh_to_dc, f)  # [:, 1:]: i, f, g as (3, H, B)
    for dz_t, dz_ifg, d_out_t, dh_to_dc_t, f_t in reversed(list(steps)):
        np.dot(w_hh_t, dz_next, out=dh)
        np.add(dh, d_out_t, out=dh)
        np.multiply(dc, f_next, out=f_dc)
        np.multiply(dh, dh_to_dc_t, out=dc)
        np.add(dc, f_dc, out=dc)
        np.multiply(dz_t[:H], dh, out=dz_t[:H])  # dz_o
        np.multiply(dz_ifg, dc, out=dz_ifg)  # dz_i, dz_f, dz_g: dc broadcast over the three
        dz_next, f_next = dz_t, f_t
