"""Recurrent layers, losses and optimizers against PyTorch's numbers, in float64.
Skipped cleanly when torch is not installed."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor

torch = pytest.importorskip("torch")

TOL = 1e-6


def torch_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def check_grads(ours, theirs, x, xt):
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=TOL, rtol=0)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), atol=TOL, rtol=0, err_msg=name)


LAYER_CASES = [
    dict(num_layers=1),
    dict(num_layers=2, batch_first=True),
    dict(num_layers=3, bias=False),
    dict(num_layers=2, batch_first=False, dropout=0.3),  # eval: dropout off, as torch
]


@pytest.mark.parametrize("kind", ["LSTM", "RNN", "GRU"])
@pytest.mark.parametrize("kwargs", LAYER_CASES, ids=str)
@pytest.mark.parametrize("give_state", [True, False])
def test_recurrent_layers_match_torch(kind, kwargs, give_state):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    theirs = getattr(torch.nn, kind)(3, 5, **kwargs).double().eval()
    ours = getattr(tl.nn, kind)(3, 5, dtype=np.float64, **kwargs).eval()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict(torch_state(theirs))

    T, B, L = 6, 4, kwargs["num_layers"]
    x_np = rng.standard_normal((B, T, 3) if kwargs.get("batch_first") else (T, B, 3))
    x, xt = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    state = [rng.standard_normal((L, B, 5)) for _ in range(2 if kind == "LSTM" else 1)]
    if give_state:
        ours_in = tuple(state) if kind == "LSTM" else state[0]
        theirs_in = tuple(map(torch.tensor, state)) if kind == "LSTM" else torch.tensor(state[0])
        out, final = ours(x, ours_in)
        out_t, final_t = theirs(xt, theirs_in)
    else:
        out, final = ours(x)
        out_t, final_t = theirs(xt)
    finals = final if kind == "LSTM" else (final,)
    finals_t = final_t if kind == "LSTM" else (final_t,)

    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=TOL, rtol=0)
    for f, ft in zip(finals, finals_t):
        np.testing.assert_allclose(f.numpy(), ft.detach().numpy(), atol=TOL, rtol=0)

    # a loss that reaches every output and every final state, with distinct weights
    weights = rng.standard_normal(out.shape)
    loss = (out * weights).sum() + sum(((f * f).sum() for f in finals), Tensor(0.0))
    loss_t = (out_t * torch.tensor(weights)).sum() + sum((f * f).sum() for f in finals_t)
    loss.backward()
    loss_t.backward()
    check_grads(ours, theirs, x, xt)


@pytest.mark.parametrize("kind", ["LSTMCell", "RNNCell", "GRUCell"])
def test_cells_match_torch(kind):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    theirs = getattr(torch.nn, kind)(4, 3).double()
    ours = getattr(tl.nn, kind)(4, 3, dtype=np.float64)
    ours.load_state_dict(torch_state(theirs))
    x_np, h_np, c_np = rng.standard_normal((2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    x, xt = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    if kind == "LSTMCell":
        h, c = ours(x, (h_np, c_np))
        ht, ct = theirs(xt, (torch.tensor(h_np), torch.tensor(c_np)))
        loss, loss_t = (h * c).sum() + h.sum(), (ht * ct).sum() + ht.sum()
    else:
        h, ht = ours(x, h_np), theirs(xt, torch.tensor(h_np))
        loss, loss_t = (h * h).sum(), (ht * ht).sum()
    np.testing.assert_allclose(h.numpy(), ht.detach().numpy(), atol=TOL, rtol=0)
    loss.backward()
    loss_t.backward()
    check_grads(ours, theirs, x, xt)


def test_unbatched_lstm_matches_torch():
    torch.manual_seed(2)
    theirs = torch.nn.LSTM(3, 4, num_layers=2).double()
    ours = tl.nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    ours.load_state_dict(torch_state(theirs))
    x = np.random.default_rng(2).standard_normal((5, 3))
    out, (h, c) = ours(x)
    out_t, (ht, ct) = theirs(torch.tensor(x))
    assert out.shape == (5, 4) and h.shape == (2, 4)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c.numpy(), ct.detach().numpy(), atol=TOL, rtol=0)


def test_losses_match_torch():
    rng = np.random.default_rng(3)
    F = tl.functional
    logits_np = rng.standard_normal((5, 4)) * 30  # large: stability matters
    labels = rng.integers(0, 4, size=5)
    bits = rng.integers(0, 2, size=(5, 4)).astype(np.float64)
    cases = [
        (lambda x: F.cross_entropy(x, labels), lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(labels))),
        (
            lambda x: F.binary_cross_entropy_with_logits(x, bits),
            lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(bits)),
        ),
        (lambda x: F.mse_loss(x, bits), lambda x: torch.nn.functional.mse_loss(x, torch.tensor(bits))),
        (lambda x: (F.softmax(x, axis=1) * bits).sum(), lambda x: (torch.softmax(x, 1) * torch.tensor(bits)).sum()),
    ]
    for ours_fn, theirs_fn in cases:
        x, xt = Tensor(logits_np, requires_grad=True), torch.tensor(logits_np, requires_grad=True)
        loss, loss_t = ours_fn(x), theirs_fn(xt)
        loss.backward()
        loss_t.backward()
        assert np.isfinite(loss.item())
        np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-10)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0.1)),
        ("SGD", dict(lr=0.1, momentum=0.9)),
        ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.01)),
        ("Adam", dict(lr=0.01)),
        ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ],
)
def test_optimizers_match_torch(name, kwargs):
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((3, 2))
    targets = [rng.standard_normal((3, 2)) for _ in range(5)]
    w, wt = tl.nn.Parameter(w0), torch.tensor(w0, requires_grad=True)
    opt, opt_t = getattr(tl.optim, name)([w], **kwargs), getattr(torch.optim, name)([wt], **kwargs)
    for target in targets:
        opt.zero_grad()
        opt_t.zero_grad()
        ((w - target) ** 4).sum().backward()
        ((wt - torch.tensor(target)) ** 4).sum().backward()
        opt.step()
        opt_t.step()
    np.testing.assert_allclose(w.numpy(), wt.detach().numpy(), atol=1e-10)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal((3, 3)) * 4, rng.standard_normal(5)]
    ours = [tl.nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, pt, g in zip(ours, theirs, grads):
        p.grad = Tensor(g.copy())
        pt.grad = torch.tensor(g)
    norm = tl.optim.clip_grad_norm_(ours, 1.0)
    norm_t = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_allclose(norm, norm_t.item())
    for p, pt in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-12)
