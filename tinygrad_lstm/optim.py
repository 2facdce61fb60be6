"""Optimizers update parameters in place from their .grad: SGD (with momentum), Adam;
and clip_grad_norm_, which rescales gradients whose joint norm is too large."""

import numpy as np


class Optimizer:
    def __init__(self, params, lr, weight_decay):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr, self.weight_decay = lr, weight_decay

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for k, p in enumerate(self.params):
            if p.grad is not None:
                g = p.grad.data
                if self.weight_decay:  # torch's L2 penalty: (wd/2) |p|^2 in the loss adds wd p to g
                    g = g + self.weight_decay * p.data
                self._update(k, p.data, g)


class SGD(Optimizer):
    """v = momentum v + g;  p -= lr v   (torch's form; momentum 0 is plain gradient descent)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.velocity = [None] * len(self.params)

    def _update(self, k, p, g):
        if self.momentum:
            self.velocity[k] = g.copy() if self.velocity[k] is None else self.momentum * self.velocity[k] + g
            g = self.velocity[k]
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba): running means of g and g^2, bias-corrected for their zero start,

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
        p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        self.betas, self.eps = betas, eps
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)

    def _update(self, k, p, g):
        b1, b2 = self.betas
        self.steps[k] += 1
        t = self.steps[k]
        self.m[k] = b1 * self.m[k] + (1 - b1) * g
        self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
        m_hat = self.m[k] / (1 - b1 ** t)
        v_hat = self.v[k] / (1 - b2 ** t)
        p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)


def clip_grad_norm_(params, max_norm):
    """Scale all gradients by one factor so that their joint L2 norm is at most max_norm.
    Returns the norm before clipping (as torch does)."""
    grads = [p.grad.data for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g *= scale
    return total
