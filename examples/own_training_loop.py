"""An LSTM trained with a loop of your own: task, model, loss, backward, optimizer step.

The sine task: read a wave one sample at a time and predict the next sample. Each wave
has its own frequency and phase, so the model must work them out from what it has read.
The score is the mean squared error on waves it never trained on, against the naive
guess "the next sample equals this one". A few seconds on 2 cores.

    python examples/own_training_loop.py [--steps 600] [--hidden 32] [--seed 0]
"""

import argparse

import numpy as np

import tinygrad_lstm as tl
from tinygrad_lstm import functional as F
from tinygrad_lstm import nn, optim


class NextSample(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, waves):  # (B, T, 1)
        h, _ = self.lstm(waves)  # h_t at every step: (B, T, hidden)
        return self.head(h)[:, :, 0]  # one prediction per step: (B, T)


def main(steps=600, hidden=32, seed=0):
    tl.manual_seed(seed)  # the initial weights
    task = tl.tasks.make("sine", seq_len=50)
    data = np.random.default_rng(seed)  # the training waves
    model = NextSample(hidden)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    for step in range(1, steps + 1):
        waves, targets = task.sample(32, data)
        loss = F.mse_loss(model(waves), targets)
        optimizer.zero_grad()  # .grad accumulates: clear last step's
        loss.backward()  # d loss / d every parameter
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 100 == 0 or step == steps:
            print(f"step {step:5d}  training loss {loss.item():.5f}")

    # Held out: waves from another seeded stream, scored by the task (the mean squared
    # error over the second half of each wave, once the model has had time to find it).
    waves, targets = task.sample(500, np.random.default_rng([seed, 1]))
    with tl.no_grad():
        predictions = model(waves).numpy()
    mse = task.evaluate(predictions[:, :, None], targets)["mse"]
    naive = task.baseline()["mse"]
    print(f"held-out mse {mse:.5f}; the naive guess (next = this one) gets {naive:.5f}")
    return mse, naive


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.hidden, args.seed)
