"""A one-layer LSTM written by hand in NumPy, forward and backpropagation through time:
the reference that benchmarks/lstm_step.py measures tinygrad_lstm against.

Same work as tl.nn.LSTM: the input projection of all steps in one matmul, fused 4H gate
matrices, gate order i, f, g, o. Backward is the chain rule written out per step.
"""

import numpy as np


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


def lstm_forward_backward(x, target, w_ih, w_hh, b_ih, b_hh):
    """Return (loss, grads) for loss = mean((out - target)^2), out the hidden state at every step.

    x (T, B, I), target (T, B, H); grads = (d w_ih, d w_hh, d b_ih, d b_hh).
    """
    T, B, _ = x.shape
    H = w_hh.shape[1]
    x_gates = x @ w_ih.T + (b_ih + b_hh)  # (T, B, 4H): every step's input projection at once
    w_hh_t = np.ascontiguousarray(w_hh.T)  # OpenBLAS is slow with a transposed right operand
    h = np.zeros((B, H), x.dtype)
    c = np.zeros((B, H), x.dtype)
    saved, out = [], np.empty((T, B, H), x.dtype)
    for t in range(T):
        gates = x_gates[t] + h @ w_hh_t
        i, f, o = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H]), sigmoid(gates[:, 3 * H:])
        g = np.tanh(gates[:, 2 * H:3 * H])
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        tanh_c = np.tanh(c)
        h = o * tanh_c
        out[t] = h
        saved.append((i, f, g, o, c_prev, h_prev, tanh_c))

    diff = out - target
    loss = float(np.mean(diff * diff))
    d_out = 2 * diff / diff.size

    d_w_hh = np.zeros_like(w_hh)
    d_x_gates = np.empty_like(x_gates)
    dh_next = np.zeros((B, H), x.dtype)
    dc_next = np.zeros((B, H), x.dtype)
    for t in reversed(range(T)):
        i, f, g, o, c_prev, h_prev, tanh_c = saved[t]
        dh = d_out[t] + dh_next
        dc = dh * o * (1 - tanh_c * tanh_c) + dc_next
        d_gates = d_x_gates[t]
        d_gates[:, :H] = dc * g * i * (1 - i)
        d_gates[:, H:2 * H] = dc * c_prev * f * (1 - f)
        d_gates[:, 2 * H:3 * H] = dc * i * (1 - g * g)
        d_gates[:, 3 * H:] = dh * tanh_c * o * (1 - o)
        d_w_hh += d_gates.T @ h_prev
        dh_next = d_gates @ w_hh
        dc_next = dc * f
    flat = d_x_gates.reshape(T * B, 4 * H)
    d_w_ih = flat.T @ x.reshape(T * B, -1)
    d_b = flat.sum(axis=0)
    return loss, (d_w_ih, d_w_hh, d_b, d_b.copy())
