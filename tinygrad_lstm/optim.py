"""Optimizers update parameters in place from their .grad: SGD (with momentum), Adam;
and clip_grad_norm_, which rescales gradients whose joint norm is too large.

Arguments are checked when the optimizer is made (torch's ranges, and no nan or inf);
step() checks every gradient before it changes any parameter, so a refused step leaves
the parameters and the optimizer's state as they were."""

import math

import numpy as np

from .checks import check_number, is_integer
from .tensor import Tensor
from .versions import mark_changed


def _at_least_0(who, name, value):
    return check_number(who, name, value, "positive or 0 (a finite number)", lambda v: 0 <= v < math.inf)


def _in_0_1(who, name, value):
    return check_number(who, name, value, "a finite number in [0, 1)", lambda v: 0 <= v < 1)


def _parameter_list(who, params):
    """params as a list of distinct floating leaf Tensors (torch's rules, and a repeated
    tensor is an error, not a warning). One that does not require grad (a frozen layer's)
    is kept, as in torch: it never gets a grad, so step() passes it by."""
    if isinstance(params, Tensor):
        raise TypeError(f"{who}: params must be an iterable of Tensors, got a single Tensor; pass [w]")
    if isinstance(params, np.ndarray):
        raise TypeError(
            f"{who}: params must be an iterable of Tensors, got a numpy array; "
            "make it Tensor(array, requires_grad=True) and pass [that]"
        )
    if isinstance(params, (set, frozenset, dict)):
        raise TypeError(
            f"{who}: params must be in a fixed order (a list, or model.parameters()), got a {type(params).__name__}"
        )
    try:
        params = list(params)
    except TypeError:
        hint = "; pass model.parameters()" if hasattr(params, "parameters") else ""
        raise TypeError(f"{who}: params must be an iterable of Tensors, got {type(params).__name__}{hint}") from None
    if not params:
        raise ValueError(f"{who}: got no parameters to optimize")
    first_seen = {}
    for k, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: params[{k}] must be a Tensor, got {type(p).__name__}")
        if p.dtype.kind != "f":
            raise TypeError(f"{who}: params[{k}] must be floating, got dtype {p.dtype}")
        if not p.is_leaf:
            raise ValueError(
                f"{who}: params[{k}] is not a leaf (it was made by {type(p.grad_fn).__name__}); "
                "optimize the tensors it was computed from"
            )
        j = first_seen.setdefault(id(p), k)  # by identity: equal values are not the same parameter
        if j != k:
            raise ValueError(f"{who}: params[{j}] and params[{k}] are the same Tensor; list each parameter once")
    return params


def _check_grad_is_tensor(who, k, p, note=""):
    if p.grad is not None and not isinstance(p.grad, Tensor):
        raise TypeError(f"{who}: params[{k}].grad must be a Tensor or None, got {type(p.grad).__name__}{note}")


class Optimizer:
    def __init__(self, params, lr, weight_decay):
        who = type(self).__name__
        self.params = _parameter_list(who, params)
        self.lr = _at_least_0(who, "lr", lr)
        self.weight_decay = _at_least_0(who, "weight_decay", weight_decay)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for k, p, g in self._grads():
            if self.weight_decay:  # torch's L2 penalty: (wd/2) |p|^2 in the loss adds wd p to g
                g = g + self.weight_decay * p.data
            self._update(k, p.data, g)
            mark_changed(
                p, f"{type(self).__name__}.step() (its params[{k}])"
            )  # a graph made before this step can't go back

    def _grads(self):
        """(index, parameter, grad array in the parameter's dtype) for each parameter with a
        grad, all checked before the first is used."""
        who, found = type(self).__name__, []
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue  # as torch: no grad, no step (Adam's step count stays too)
            _check_grad_is_tensor(who, k, p, " (no parameter was changed)")
            if p.grad.shape != p.shape:
                raise ValueError(
                    f"{who}: params[{k}] has shape {p.shape} but its .grad has shape "
                    f"{p.grad.shape} (no parameter was changed)"
                )
            found.append((k, p, p.grad.data.astype(p.dtype, copy=False)))
        return found


class SGD(Optimizer):
    """v = momentum v + g;  p -= lr v   (torch's form; momentum 0 is plain gradient descent)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = _at_least_0(type(self).__name__, "momentum", momentum)  # torch bounds it below only
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
        who = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(_in_0_1(who, f"betas[{i}]", b) for i, b in enumerate(betas))
        self.eps = _at_least_0(who, "eps", eps)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)

    def _update(self, k, p, g):
        b1, b2 = self.betas
        self.steps[k] += 1
        t = self.steps[k]
        self.m[k] = b1 * self.m[k] + (1 - b1) * g
        self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
        m_hat = self.m[k] / (1 - b1**t)
        v_hat = self.v[k] / (1 - b2**t)
        p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)


def clip_grad_norm_(params, max_norm):
    """Scale all gradients by one factor so that their joint L2 norm is at most max_norm.
    params: a Tensor or an iterable of them. Returns the norm before clipping (as torch does);
    max_norm=inf measures it and clips nothing."""
    max_norm = check_number(
        "clip_grad_norm_", "max_norm", max_norm, "positive or 0 (inf: no clipping)", lambda v: v >= 0
    )  # a negative one would flip the gradients: training uphill
    params = [params] if isinstance(params, Tensor) else list(params)
    for k, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"clip_grad_norm_: params[{k}] must be a Tensor, got {type(p).__name__}")
        _check_grad_is_tensor("clip_grad_norm_", k, p)
    grads = [p.grad.data for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    if not total <= max_norm:  # (a nan norm too: every gradient becomes nan, as torch, not silently kept)
        scale = max_norm / (total + 1e-6)
        for p in params:
            if p.grad is not None:
                p.grad.data *= scale  # in place, as torch: a graph that saved this gradient can't go back now
                mark_changed(p.grad, "clip_grad_norm_")
    return total


class ReduceLROnPlateau:
    """Lower the optimizer's lr by `factor` when a metric has not improved for more than
    `patience` checks in a row, as torch.optim.lr_scheduler.ReduceLROnPlateau does (improved:
    by more than `threshold` of the best so far, relatively; an lr change under 1e-8 is skipped):

        scheduler = ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=3)
        scheduler.step(validation_accuracy)     # after each check

    mode "max": a larger metric is better (accuracy); "min": a smaller one (a loss, mse).
    The lr never goes below min_lr. state_dict() / load_state_dict() carry it to a resumed run."""

    def __init__(self, optimizer, mode="max", factor=0.5, patience=3, threshold=1e-4, min_lr=0.0):
        who = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{who}: optimizer must be an optimizer (SGD, Adam), got {type(optimizer).__name__}")
        if mode not in ("max", "min"):
            raise ValueError(f"{who}: mode must be 'max' or 'min', got {mode!r}")
        self.optimizer, self.mode = optimizer, mode
        self.factor = check_number(who, "factor", factor, "a number in (0, 1)", lambda v: 0 < v < 1)
        if not is_integer(patience):
            raise ValueError(f"{who}: patience must be an integer >= 0, got {patience!r}")
        self.patience, self.min_lr = int(patience), _at_least_0(who, "min_lr", min_lr)
        self.threshold = _at_least_0(who, "threshold", threshold)
        self.best, self.bad_checks = None, 0

    def step(self, metric):
        metric = check_number("ReduceLROnPlateau.step", "metric", metric, "a number", lambda v: True)
        # As torch: the best so far starts at -inf (max) or inf (min), and a nan never improves
        # on it (every comparison with nan is False), so a nan check counts as a bad one.
        best = self.best if self.best is not None else (-math.inf if self.mode == "max" else math.inf)
        if self.mode == "max":
            improved = metric > best * (1 + self.threshold)
        else:
            improved = metric < best * (1 - self.threshold)
        if improved:
            self.best, self.bad_checks = metric, 0
            return
        self.bad_checks += 1
        if self.bad_checks > self.patience:
            lower = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - lower > 1e-8:
                self.optimizer.lr = lower
            self.bad_checks = 0

    def state_dict(self):
        return {"lr": self.optimizer.lr, "best": self.best, "bad_checks": self.bad_checks}

    def load_state_dict(self, state):
        """A state from state_dict(); what is not one (a key missing, a value out of its range)
        is refused, and nothing is changed."""
        who = "ReduceLROnPlateau.load_state_dict"
        if not isinstance(state, dict) or not {"lr", "best", "bad_checks"} <= set(state):
            raise ValueError(f"{who}: expected a dict with lr, best and bad_checks (from state_dict()), got {state!r}")
        lr = check_number(who, "lr", state["lr"], "a positive finite number", lambda v: 0 < v < math.inf)
        best, bad_checks = state["best"], state["bad_checks"]
        if best is not None:
            best = check_number(who, "best", best, "a number (not nan), or None", lambda v: not math.isnan(v))
        if not is_integer(bad_checks):
            raise ValueError(f"{who}: bad_checks must be an integer >= 0, got {bad_checks!r}")
        self.optimizer.lr, self.best, self.bad_checks = lr, best, int(bad_checks)
