"""The text task (a character-level language model) trained for the same wall time by ours and
by torch, at 1 thread, on the same windows of the same text: held-out bits per character and
characters per second.   python benchmarks/text.py [--seconds 60] [--text FILE]

--models lstm gru rnn: ours only, each kind for the same time, with two samples of each model
(temperatures 0.5 and 1.0), for the table in docs/text.md.

Both sides: an Embedding of 32, one recurrent layer of 128, a Linear to the alphabet, Adam at
3e-3, batches of 32 windows of 64 characters drawn by the task's own sampler from one seed, the
held-out score on the 1000 test windows `tinygrad-lstm eval` scores. Ours runs as `train text`
does (tl.compile); torch runs torch.nn.LSTM, its fused kernel, eagerly.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm.tasks.text import Text, generate  # noqa: E402
from tinygrad_lstm.train import SequenceModel, Training, evaluate, held_out_stream  # noqa: E402

HIDDEN, EMBEDDING, LR, BATCH, SEQ_LEN = 128, 32, 3e-3, 32, 64


def ours(task, seconds, kind="lstm", seed=0):
    """Train for `seconds` of wall time; (model, steps, seconds taken)."""
    tl.manual_seed(seed)
    model = SequenceModel(task, kind=kind, hidden=HIDDEN, embedding=EMBEDDING)
    training = Training(task, model, lr=LR, seed=seed, batch_size=BATCH)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        training.run(50, log_every=50)
        steps += 50
    return model, steps, time.perf_counter() - start


def theirs(task, seconds, seed=0):
    """torch.nn.LSTM on the same windows (the task's training stream for this seed); None
    without torch. Returns (held-out metrics, steps, seconds taken)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    embed = torch.nn.Embedding(len(task.vocab), EMBEDDING)
    lstm = torch.nn.LSTM(EMBEDDING, HIDDEN, batch_first=True)
    head = torch.nn.Linear(HIDDEN, len(task.vocab))
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=LR)
    stream = np.random.default_rng([seed, 0])

    def forward(x):
        return head(lstm(embed(torch.as_tensor(x)))[0])

    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            x, y = task.sample(BATCH, stream)
            loss = torch.nn.functional.cross_entropy(
                forward(x).reshape(-1, len(task.vocab)), torch.as_tensor(y).reshape(-1)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        steps += 50
    taken = time.perf_counter() - start
    x, y = task.sample(1000, held_out_stream(0), "test")
    with torch.no_grad():
        outputs = forward(x).numpy()
    return task.evaluate(outputs, y), steps, taken


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time each model trains (default 60)")
    parser.add_argument("--text", help="a UTF-8 text file (default: the text task's own text)")
    parser.add_argument("--models", nargs="+", choices=["lstm", "gru", "rnn"], help="compare ours, kind by kind")
    args = parser.parse_args()
    task = Text(seq_len=SEQ_LEN, path=args.text)
    chars = BATCH * SEQ_LEN
    base = task.baseline()["bits_per_char"]
    print(
        f"{task.source}: {len(task.text)} characters, {len(task.vocab)} distinct; unigram baseline {base:.3f} bits/char"
    )
    print(f"each model trains for {args.seconds:g} s at 1 thread; held-out bits/char on 1000 test windows")
    if args.models:
        for kind in args.models:
            model, steps, taken = ours(task, args.seconds, kind)
            bits = evaluate(task, model)["bits_per_char"]
            print(f"\n{kind.upper():5s} {bits:.3f} bits/char   {steps} steps, {steps * chars / taken:,.0f} chars/s")
            for temperature in (0.5, 1.0):
                sample = generate(model, task, "The ", 160, temperature, seed=0)
                print(f"  temperature {temperature}: {sample!r}")
        return
    model, steps, taken = ours(task, args.seconds)
    rows = [("ours (tl.compile)", evaluate(task, model), steps, taken)]
    torch_run = theirs(task, args.seconds)
    if torch_run is not None:
        rows.append(("torch.nn.LSTM", *torch_run))
    print(f"{'':20s} {'bits/char':>10s} {'steps':>7s} {'chars/s':>9s}")
    for name, metrics, steps, taken in rows:
        print(f"{name:20s} {metrics['bits_per_char']:10.3f} {steps:7d} {steps * chars / taken:9,.0f}")


if __name__ == "__main__":
    main()
