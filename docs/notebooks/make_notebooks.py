"""Write the tutorial's notebooks (docs/notebooks/*.ipynb) and run each in a fresh kernel, so
the outputs they keep are the ones this code gives (seeds fixed: the same each run).

    python docs/notebooks/make_notebooks.py            all of them
    python docs/notebooks/make_notebooks.py 3          only those whose file name starts with 3

Each notebook is a list of cells below: a str starting with "md:" is text, any other a code
cell. tests/test_notebooks.py runs every notebook again, top to bottom, and fails on an error.
"""

import os
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 300  # seconds a cell may take

SETUP = """\
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread: the same numbers on every machine
import numpy as np
import tinygrad_lstm as tl
from tinygrad_lstm import Tensor
tl.manual_seed(0)"""

AUTOGRAD = [
    """md:# 1. Autograd from scratch

A `Tensor` holds a NumPy array. Every operation on tensors that need a gradient is recorded:
the result remembers the op that made it and the op remembers its inputs. That record is the
**computation graph**, and `backward()` walks it from the result back to the inputs, applying
the chain rule at every op:

$$\\frac{\\partial L}{\\partial x} = \\sum_{\\text{uses of } x} \\frac{\\partial L}{\\partial z}\\,\\frac{\\partial z}{\\partial x}$$

Here is one neuron, $L = (\\tanh(w \\cdot x) - \\tfrac12)^2$.""",
    SETUP,
    """w = Tensor(np.array([0.5, -0.3]), requires_grad=True).named("w")
x = Tensor(np.array([1.0, 2.0])).named("x")
z = (w * x).sum().named("z")
L = ((z.tanh() - 0.5) ** 2).named("L")
L.backward(retain_graph=True)
print("L =", L.item(), "  dL/dw =", w.grad)""",
    """md:By hand: $\\partial L/\\partial z = 2(\\tanh z - \\tfrac12)(1 - \\tanh^2 z)$ and
$\\partial z/\\partial w = x$. The engine must agree:""",
    """t = np.tanh(z.item())
by_hand = 2 * (t - 0.5) * (1 - t**2) * x.numpy()
print(by_hand, np.allclose(by_hand, w.grad.numpy()))""",
    """md:## The graph

`draw_graph` draws what was recorded: boxes for tensors, ellipses for ops. (It displays inline;
Graphviz's `dot` program renders it.)""",
    """tl.viz.draw_graph(L, params={"w": w}, show_grads=True)""",
    """md:## Watching backward() work

The explorer steps through `backward()` one op at a time: which op's rule runs, the gradient
that arrives, the gradients it sends to each input. Press the arrow keys inside the frame.""",
    """tl.viz.explore(L, params={"w": w})""",
    """md:## Checking gradients: finite differences

For a small step $\\varepsilon$, $\\partial L/\\partial x_i \\approx (L(x + \\varepsilon e_i) - L(x - \\varepsilon e_i)) / 2\\varepsilon$.
`gradcheck` compares that with autograd for every element, in float64.""",
    """x64 = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
print(tl.gradcheck(lambda a: (a.tanh() * a).sum(axis=0), [x64]))""",
    """md:## Writing an op of your own

An op is a `Function` with a `forward` on arrays and a `backward` that turns the output's
gradient into the inputs'. Softsign: $z = a / (1 + |a|)$, $dz/da = 1/(1 + |a|)^2$.""",
    """from tinygrad_lstm.autograd import Function

class Softsign(Function):
    def forward(self, a):
        self.a = a  # what backward needs, saved on self
        return a / (1 + np.abs(a))

    def backward(self, grad):  # dL/dz in, dL/da out
        return grad / ((1 + abs(self.a)) * (1 + abs(self.a)))

softsign = Softsign.apply
print(tl.gradcheck(softsign, [x64]))""",
    """md:A wrong rule is caught and named:""",
    """class WrongSoftsign(Softsign):
    def backward(self, grad):
        return grad / (1 + abs(self.a))  # not squared

try:
    tl.gradcheck(WrongSoftsign.apply, [x64])
except tl.GradcheckError as err:
    print(str(err)[:160], "...")""",
    """md:## Exercises

1. Add a `Square` op ($z = a^2$) and check it with `gradcheck`. Then break its backward on purpose.
2. Use `x` twice, `L = (x * x + x).sum()`: where in the engine do the two gradients add up?
   (`docs/engine.md` walks through it.)""",
]

LSTM_CELL = [
    """md:# 2. The LSTM cell as a factory line

The tutorial pictures an LSTM step as a factory line. The **cell state** $c_t$ is the conveyor
belt; the **forget gate** $f_t$ erases from it, the **input gate** $i_t$ with the candidate
$g_t$ writes onto it, the **output gate** $o_t$ decides what the hidden state $h_t$ shows:

$$i, f, o = \\sigma(\\cdot),\\quad g = \\tanh(\\cdot),\\qquad c_t = f \\odot c_{t-1} + i \\odot g,\\qquad h_t = o \\odot \\tanh(c_t)$$

where each $(\\cdot)$ is $W x_t + U h_{t-1} + b$ for that gate. In code (this is
`tl.nn.LSTM`'s step, `tinygrad_lstm/nn/recurrent.py`):""",
    SETUP,
    """lstm = tl.nn.LSTM(input_size=2, hidden_size=4)
for name, p in lstm.named_parameters():
    print(f"{name:14s} {p.shape}")  # the four gates' W stacked: (4 * 4, 2); U: (4 * 4, 4)""",
    """md:One step by hand, with the layer's own weights, against the layer:""",
    """x = np.random.default_rng(1).standard_normal((1, 1, 2)).astype(np.float32)  # (T, B, input)
W, U = lstm.weight_ih_l0.numpy(), lstm.weight_hh_l0.numpy()
b = lstm.bias_ih_l0.numpy() + lstm.bias_hh_l0.numpy()
h0 = c0 = np.zeros((1, 4), np.float32)
pre = x[0] @ W.T + h0 @ U.T + b
i, f, g, o = np.split(pre, 4, axis=-1)
sigmoid = lambda a: 1 / (1 + np.exp(-a))
c1 = sigmoid(f) * c0 + sigmoid(i) * np.tanh(g)
h1 = sigmoid(o) * np.tanh(c1)
out, (h, c) = lstm(x)
print(np.allclose(h1, h.numpy()[0], atol=1e-6), np.allclose(c1, c.numpy()[0], atol=1e-6))""",
    """md:## One step's graph

Every gate, every product on the belt is an op in the graph; backward goes through each.""",
    """out, _ = lstm(x)
tl.viz.draw_graph((out ** 2).mean(), params=lstm)""",
    """md:## The conveyor belt, measured

If the forget gate stays near 1 and the input gate near 0, $c_t$ keeps what was written on it.
Write a value at step 0, then feed zeros: how much of $c$ survives after $t$ steps is the
product of the forget gates. With the forget gate's bias set high, the belt keeps it.""",
    """def kept(forget_bias, steps=30):
    \"\"\"c_t of a 1-unit LSTM that writes 1 at step 0 (x = 1 there, 0 after) and then only keeps it.\"\"\"
    cell = tl.nn.LSTM(1, 1)
    with tl.no_grad():
        cell.weight_ih_l0.data[:] = [[0.0], [0.0], [5.0], [0.0]]  # i, f, g, o: g = tanh(5 x), 1 at step 0
        cell.weight_hh_l0.data[:] = 0.0
        cell.bias_ih_l0.data[:] = [5.0, forget_bias, 0.0, 0.0]  # the input gate open, the forget gate as asked
        cell.bias_hh_l0.data[:] = 0.0
        state, c = None, []
        for t in range(steps):
            x = np.full((1, 1, 1), 1.0 if t == 0 else 0.0, np.float32)
            _, state = cell(x, state)  # the state carried from step to step
            c.append(state[1].item())
    return np.array(c)

for bias in (-3.0, 0.0, 3.0, 6.0):
    c = kept(bias)
    print(f"forget bias {bias:+.0f}: f = {1 / (1 + np.exp(-bias)):.3f}, c after 1, 10, 30 steps:",
          np.round(c[[0, 9, 29]], 4))""",
    """md:After 30 steps, $c_{30} = c_1 \\prod f_t \\approx c_1 f^{29}$: with $f = 0.5$ nothing is left, with
$f = 0.998$ almost all of it. That is why `SequenceModel` starts LSTMs with the forget bias at 1
or more (Gers et al. 2000).

## Exercises

1. Set the input gate's bias to -5 as well: what is written at step 0 now?
2. Draw the graph of three steps (`lstm(np.zeros((3, 1, 2), np.float32))`) and follow $c$ along it.""",
]

CONTEXT = [
    """md:# 3. Remembering context

The tutorial's promise: an LSTM keeps context that a plain RNN forgets. Here is the test. Each
sentence states two facts, then filler sentences (padded with "." to one length), then asks
about one of the facts:""",
    SETUP
    + """
from tinygrad_lstm.cli import demo_run
from tinygrad_lstm.tasks.context import JOBS, NAMES
from tinygrad_lstm.train import SequenceModel, evaluate, held_out_stream, train
from tinygrad_lstm.viz import plots""",
    """task = tl.tasks.make("context", seq_len=8)
inputs, answers = task.sample(3, np.random.default_rng(0))
for x, a in zip(inputs, answers):
    print(task.decode(x), "->", JOBS[a])""",
    """md:A model that remembered nothing could still answer one of the two jobs it saw: right half the
time (the baseline). Only remembering *whose* job is whose gets past 50%.

## Training both

The LSTM trains as `tinygrad-lstm demo` trains it (easier sentences first, until 99.5% of the
validation sentences are right); the plain RNN on the same batches, as many steps or more, with
the learning rate that suits it best. About half a minute for both.""",
    """lstm_run, lstm_seconds = demo_run("lstm", seed=0)
rnn_run, rnn_seconds = demo_run("rnn", seed=0, follow=lstm_run)
for name, run in (("LSTM", lstm_run), ("plain RNN", rnn_run)):
    print(f"{name:9s} {evaluate(task, run.model)['accuracy']:.1%} of held-out sentences right after {run.step} steps")""",
    """md:The held-out sentences pair facts no training sentence ever put together, so the score is
what the model generalised, not what it memorised.

## The conveyor belt at work

Which units carry the answer? For each unit, the correlation ratio η between its cell state at
the final "?" and the answer: 0 when the state says nothing about it, 1 when it fixes it. The
three best, across 60 held-out sentences: $c$ holds still through the fillers (the forget gate
near 1, the input gate near 0), and moves at the facts.""",
    """model = lstm_run.model
inputs, answers = task.sample(1000, held_out_stream(7), "test")
units, eta = plots.memory_units(model, inputs, answers, step=-1, k=3)
print("units", units, "eta", eta[units].round(2), " median eta of all units", np.median(eta).round(2))
sentences = [task.decode(x).split() for x in inputs]
words = [column[0] if len(set(column)) == 1 else "NAME" if set(column) <= set(NAMES)
         else "JOB" if set(column) <= set(JOBS) else "..." for column in zip(*sentences)]  # the steps' labels
figure = plots.plot_memory(model, inputs, answers, label_names=JOBS, words=words, step=-1, k=3,
                           title="the 3 units whose c at '?' tells the answer best")""",
    """md:The gates for one held-out sentence, the units sorted by η (red bar: the three above):""",
    """values = plots.lstm_values(model, inputs[:1], ("c", "f", "i", "o"))
figure = plots.plot_gates({n: v[0] for n, v in values.items()}, words=task.decode(inputs[0]).split(),
                          order=np.argsort(-eta, kind="stable"), marked=3, key=eta,
                          order_label="units by η", title="one held-out sentence")""",
    """md:## Why the plain RNN forgets: the vanishing gradient

Training needs the loss at the end to reach back to the facts. $\\|\\partial L/\\partial h_t\\|$ is how much
it still does $t$ steps back. In a plain RNN each step multiplies it by $W^\\top \\mathrm{diag}(1 - h^2)$,
which shrinks it geometrically; along the LSTM's cell state it is multiplied by $f_t$, near 1.
The adding problem over 100 steps, untrained and after 600 steps:""",
    """adding = tl.tasks.make("adding", seq_len=100)
x, y = adding.sample(32, held_out_stream(7), "test")
norms, styles = {}, {}
for kind, colour in (("rnn", "tab:blue"), ("lstm", "tab:orange")):
    tl.manual_seed(0)
    m = SequenceModel(adding, kind=kind)
    norms[f"{kind}, untrained"] = plots.gradient_norms(adding, m, x, y)
    train(adding, m, steps=600, lr=1e-2, seed=0)
    norms[f"{kind}, trained"] = plots.gradient_norms(adding, m, x, y)
    styles[f"{kind}, untrained"], styles[f"{kind}, trained"] = dict(color=colour, linestyle="--"), dict(color=colour)
figure = plots.plot_gradient_norms(norms, title="gradient reaching step t (adding problem, T = 100)", styles=styles)""",
    """md:## Exercises

1. Retrain the LSTM with the forget gate's bias at -3 (`demo_run` trains with 5; build the model with
   `SequenceModel(task, forget_bias=-3)` and a `tinygrad_lstm.train.Training`): what happens to the
   memory figure, and to the accuracy?
2. Give the plain RNN three times the steps. Does it pass 50%?""",
]

TEXT = [
    """md:# 4. Text: a character model and the cells that learn to read

The other notebooks' tasks are made up; this one reads real text. A **character language
model** reads a text one character at a time and, after each, gives every character of the
alphabet a probability of being the next one: trained on Python's documentation, it learns
that after "asser" comes "t". Here the LSTM's output $h_t$, after reading $x_1 \\dots x_t$,
goes through a Linear layer to one score $z_i$ per character, and a softmax makes them
probabilities:

$$p(x_{t+1} = i \\mid x_1, \\dots, x_t) = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$$

The text, unless you give another (`Text(path=...)`), is the one the package carries: the
reference pages of Python's documentation as `help()` shows them.""",
    SETUP
    + """
import matplotlib.pyplot as plt
from tinygrad_lstm.tasks.text import Text, generate
from tinygrad_lstm.train import SequenceModel, Training, evaluate, held_out_stream, predict
from tinygrad_lstm.viz import plots
from tinygrad_lstm.viz.text_cells import text_cells

task = Text(seq_len=64)
print(f"{task.source}: {len(task.text):,} characters, {len(task.vocab)} distinct")
print(task.text[:420])""",
    """md:## Windows, and what is held out

Training reads windows of 64 characters. The targets are the same window shifted by one: at
each of the 64 positions, the character that comes next.""",
    """inputs, targets = task.sample(2, np.random.default_rng(0))
for x, y in zip(inputs, targets):
    print("input: ", repr(task.decode(x)))
    print("target:", repr(task.decode(y)))""",
    """md:Windows drawn anywhere in the text would overlap: nearly every character of a test window
would also sit in some training window, and the test would measure memory of the text, not
what the model learned. So the text is cut into blocks of 2000 characters, a fixed hash of each
block's number puts it in training (8 in 10), validation (1 in 10) or test (1 in 10), and a
window is drawn from inside one part's stretch of consecutive blocks. No character of the test
blocks is ever trained on, nor read as context for a training prediction.""",
    """for part, stretches in task.stretches.items():
    chars = sum(hi - lo for lo, hi in stretches)
    print(f"{part:10s} {chars:7,d} characters in {len(stretches):2d} stretches of consecutive blocks")""",
    """md:## Bits per character

Training minimises the cross-entropy, the mean over every position of $-\\ln p$(the character
that does come next). Reported in bits instead of nats:

$$\\text{bits per char} = -\\frac{1}{N} \\sum_{t} \\log_2 p(x_{t+1} \\mid x_1, \\dots, x_t), \\qquad \\text{perplexity} = 2^{\\text{bits per char}}$$

Bits per character is what a compressor built on the model (arithmetic coding) would spend
on each character; the perplexity is the number of characters among which a uniform choice
would be as unsure. Two references:

- **chance**: a uniform guess among the $V$ characters of the alphabet, $\\log_2 V$ bits;
- **baseline**: each character's frequency in the training part alone (a unigram model),
  scored on the test part. It knows that spaces and "e" are common, nothing about what came before.""",
    """for name, numbers in (("chance", task.chance()), ("unigram baseline", task.baseline())):
    print(f"{name:17s} {numbers['bits_per_char']:.2f} bits per char, perplexity {numbers['perplexity']:.1f}")""",
    """md:Character frequencies alone save two bits over chance. What a model gets below 4.69 bits, it
gets from the context.

## Training

As `tinygrad-lstm train text` trains, with 2000 steps instead of 3000 so that this notebook
stays quick (about 45 seconds): an embedding of 32, one LSTM layer of 128 units, a Linear layer
to the alphabet; Adam at 3e-3 on batches of 32 random windows, gradients clipped to norm 1.
Every 200 steps, the bits per character on 1000 windows of the test part, for the record
(nothing in training decides by it).""",
    """tl.manual_seed(0)
model = SequenceModel(task, kind="lstm", hidden=128, embedding=32)
training = Training(task, model, lr=3e-3, seed=0, batch_size=32)
training.run(2000, log_every=20, evaluate_every=200)
score = evaluate(task, model)
recent = np.mean([loss for step, loss in training.losses[-10:]])  # the last 10 logged batches, in nats
print(f"after {training.step} steps: {score['bits_per_char']:.3f} bits per char on the test part, "
      f"perplexity {score['perplexity']:.2f}\\nthe last 10 logged batches' loss: {recent:.2f} nats, "
      f"{recent / np.log(2):.2f} bits per char")
figure = plots.plot_history(training.losses, training.held_out, "bits_per_char", task.baseline()["bits_per_char"],
                            title="LSTM, 128 units, on Python's documentation")""",
    """md:The training loss (left) is in nats, per character of one batch: divide by $\\ln 2 \\approx 0.69$
for bits. As printed above, the last batches trained on cost about 1.28 nats a character, 1.85
bits; the test part, text it never read, costs 2.03 bits. The held-out curve (right) is still
falling at step 2000: more steps (the command line's 3000, or more) buy more.

## Where the model is sure

The bits each character of a sentence costs, each predicted from the characters before it:""",
    """def log_softmax(logits):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

sentence = "If the object is a dictionary, the keys are compared with the values."
ids = task.encode(sentence)
log_p = log_softmax(predict(model, ids[None, :-1])[0])  # (characters - 1, alphabet): after each character
bits = -log_p[np.arange(len(ids) - 1), ids[1:]] / np.log(2)  # what each next character costs
for t in np.argsort(-bits)[:4]:  # the four dearest
    likeliest = ", ".join(repr(task.vocab[i]) for i in np.argsort(-log_p[t])[:3])
    print(f"after {sentence[max(0, t - 14) : t + 1]!r:18s} {sentence[t + 1]!r} cost {bits[t]:.1f} bits; "
          f"the likeliest were {likeliest}")
figure, ax = plt.subplots(figsize=(12, 2.5))
ax.bar(range(len(bits)), bits, color="tab:blue")
ax.set_xticks(range(len(bits)), [c if c != " " else "␣" for c in sentence[1:]], family="monospace")
ax.set_ylabel("bits")
ax.set_title(f"each character's cost, given those before it (mean {bits.mean():.2f} bits)")
figure.tight_layout()""",
    """md:This sentence was written for this notebook; it is not in the text. Once a word is begun, the
rest of it costs almost nothing ("bject", "ictionary", "alues"): the state knows which word is
under way. The dear characters are where the text could go many ways: the first letter of a
word, and the end of one that could go on ("compare" then "d", where the model bet on a space
or an "s"). A sentence of plain words is easier than most of the text: the held-out part has
code, names and symbols in it, and costs 2.03 bits a character on average (the test score
printed after training).

The same measure over the 1000 test windows, by position in the window: each window starts
from a zero state, so its first characters are predicted with no context at all.""",
    """x, y = task.sample(1000, held_out_stream(0), "test")  # the windows evaluate() scores
log_p = log_softmax(predict(model, x))
bits = -np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0] / np.log(2)  # (windows, positions)
print(f"mean {bits.mean():.3f} bits per char (evaluate: {score['bits_per_char']:.3f}); "
      f"the first character {bits[:, 0].mean():.2f}, from the tenth on {bits[:, 9:].mean():.2f}")
figure, ax = plt.subplots(figsize=(7, 3))
ax.plot(np.arange(1, 65), bits.mean(axis=0), marker="o", markersize=3)
ax.axhline(task.baseline()["bits_per_char"], color="tab:red", linestyle="--", label="unigram baseline")
ax.set_xlabel("characters read before the prediction")
ax.set_ylabel("bits per char")
ax.legend()
figure.tight_layout()""",
    """md:After one character the model pays 3.8 bits, already below the unigram's 4.69 (one character
says a lot about the next); after about eight it levels off near 2 bits, and more context
helps little on average. What this model has learned after 2000 steps lies mostly in the
current word and the one before it.

## Writing: samples and temperature

`generate` feeds the model a prime, then draws each next character from the softmax of its
scores divided by a **temperature** $T$, and feeds that character back in:

$$p_i(T) = \\frac{e^{z_i / T}}{\\sum_j e^{z_j / T}}$$

At $T = 1$ these are the model's own probabilities. $T < 1$ sharpens them towards the likeliest
character (at $T = 0$ it always takes it: greedy); $T > 1$ flattens them towards uniform. The
state is carried from character to character, so what it writes is conditioned on everything
before it, not only on 64 characters.""",
    """samples = [f"--- temperature {temperature}\\n" + generate(model, task, "The assert statement", 240, temperature, seed=0)
           for temperature in (0, 0.5, 1.0)]
print("\\n".join(samples))""",
    """md:Greedy ($T = 0$) falls into a loop: "is a comparison the code" is the likeliest continuation
of itself, and once the state has come round to the same place it stays in the loop. At 0.5
the words are real and the phrasing is the documentation's ("a subscription", method names in
quotes), strung together without meaning. At 1.0 the model's own uncertainty, about two bits a
character, shows: invented words ("searced", "ixorelfoor"), though the words are still made
of the text's syllables, and the line breaks, quotes and `*` emphasis are still the text's.

## The cells that learn to read

Karpathy, Johnson and Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015) found
units in character-level LSTMs whose cell state switches on inside quotes, tracks the depth of
brackets, or counts along the line. `text_cells` looks for such units by measurement: for each
property below it gives every character a value by a rule (1 inside quotes, else 0; the
position in the line; ...), runs the model over 6000 held-out characters (each stretch of
consecutive test blocks read from a zero state, as it stands in the text), and finds the unit
whose cell state $c_t$ correlates best with that value (Pearson's $r$, largest $|r|$ of the
128). It then colours a held-out passage by that unit's $c_t$: red above the unit's mean, blue
below (the sign flipped where $r < 0$, so red is where the rule says 1). Hover over a
character to see $c_t$.""",
    """found = text_cells(model, task, chars=600)
found""",
    """md:A correlation needs a yardstick. An untrained network's units respond to the character they
read too, and the best of 128 random units is never at $r = 0$. So `text_cells` makes the same
measurement on an untrained network of the same sizes, built from seed 0 as the model above
was (the very network this one was before training), and keeps its best $r$ for each property
in `found.untrained`; the page above quotes it beside each verdict. Side by side:""",
    """import re

lines = [line for line in task.text.split("\\n") if line.strip()]
indented = np.mean([line.startswith("   ") for line in lines])
quotations = [len(a or b) for a, b in re.findall(r'"([^"]*)"|“([^”]*)”', task.text)]  # what lies between the marks
print(f"{'':22s}  trained   untrained   (best |r| of 128 units)")
for name, (unit, r, rule) in found.found.items():
    print(f"{name:22s}  {abs(r):7.2f}   {abs(found.untrained[name]):9.2f}")
print(f"\\n{indented:.0%} of the text's non-empty lines start with 3 spaces or more;\\n"
      f"the median quotation is {np.median(quotations):.0f} characters long ({len(quotations):,} of them)")""",
    """md:What the numbers say about this model, after 2000 steps:

- **inside a word** (0.55, untrained 0.48) and **just after a space** (0.36, untrained 0.39)
  score high, but as high before training: whether this character is a letter, or the last one
  a space, is in the input itself, and some of 128 random units reflect it. No memory is needed
  for them, and the page above says so: the input alone gives them, nothing learned.
- **in an indented line** is what training added most: 0.24 untrained, 0.48 trained. 43% of
  the text's non-empty lines start with three spaces or more (code examples, indented
  paragraphs), and a line's indentation decides what follows its line break, so it is worth
  carrying from the start of the line to its end: a note kept on the belt.
- **position in the line** rose from 0.19 to 0.34, just over the page's 0.3: a trend in the
  colours above, not a clean counter.
- **inside brackets** (0.22 untrained, 0.28 trained) and **inside quotes** (0.17, 0.25) stay
  below 0.3: no unit follows them, and training moved them little. Most quotations here are
  short names ("assert", "__debug__": the median is 7 characters), which the last few
  characters cover without a note kept for them.

So no unit here is a clean quote or bracket cell like those Karpathy, Johnson and Fei-Fei show.
Theirs came from larger models, trained far longer, on War and Peace and the Linux kernel's
source. What this short run shows is the first note of that kind being kept: the line's
indentation, held from one line break to the next.""",
    """md:## How a note about the line ends

A note about the line must last from one character to the next and change at the line
break. $C_t = f_t \\odot C_{t-1} + i_t \\odot g_t$ offers two ways: the forget gate $f_t$ can
erase the old value, or the input gate can write over it ($i_t \\odot g_t$ large). For the two
units that follow the line (its position and its indentation), their mean $f_t$ and
$|i_t g_t|$ at line breaks and at every other character of the held-out text:""",
    """from tinygrad_lstm.viz.plots import lstm_values

lo, hi = task.stretches["test"][0]
held = task.text[lo:hi]
values = lstm_values(model, task.encode(held)[None], ("f", "i", "g"))
f, written = values["f"][0], np.abs(values["i"][0] * values["g"][0])
at_break = np.array([ch == "\\n" for ch in held])
for name in ("position in the line", "in an indented line"):
    u = found.found[name][0]
    print(f"{name:22s} unit {u:3d}:  f {f[at_break, u].mean():.2f} at a line break, {f[~at_break, u].mean():.2f} elsewhere;"
          f"  |i g| {written[at_break, u].mean():.2f} at a line break, {written[~at_break, u].mean():.2f} elsewhere")""",
    """md:In this model, neither. Both units keep about nine tenths of their old value at every
character ($f_t \\approx 0.9$, at a line break too) and write nearly $\\pm 1$ at every
character ($|i_t g_t| \\approx 1$). Such a unit's $c_t$ is a leaky sum of what the last ten or
so characters wrote ($\\sum_k 0.9^k \\approx 10$): it follows the line only as far as the
recent characters tell it, which is why its $r$ stays modest. A clean counter along the line
would need $f_t$ near 1 inside the line and near 0 at its break: the belt used as the tutorial
draws it, which 2000 steps did not find here. (docs/text.md's longer run has such a unit;
notebook 3 shows the belt in full on the context task, where the task demands it.)""",
    """md:## A plain RNN, for comparison

The same sizes, learning rate, steps and windows, with a plain RNN (`kind="rnn"`) in place of
the LSTM (about 15 seconds: its step does less work).""",
    """tl.manual_seed(0)
rnn = SequenceModel(task, kind="rnn", hidden=128, embedding=32)
rnn_training = Training(task, rnn, lr=3e-3, seed=0, batch_size=32)
rnn_training.run(2000, log_every=20, evaluate_every=200)
figure, ax = plt.subplots(figsize=(7, 3.5))
for name, run in (("LSTM", training), ("plain RNN", rnn_training)):
    steps, values = zip(*[(s, m["bits_per_char"]) for s, m in run.held_out])
    ax.plot(steps, values, marker="o", markersize=3, label=f"{name}: {values[-1]:.3f} at step {steps[-1]}")
ax.axhline(task.baseline()["bits_per_char"], color="tab:red", linestyle="--", label="unigram baseline")
ax.set_xlabel("step")
ax.set_ylabel("held-out bits per char")
ax.legend()
figure.tight_layout()""",
    """md:The plain RNN learns faster at first: much of what there is to learn lies in the last few
characters, and its simpler step gets there sooner. The LSTM passes it at about step 1200 and
ends lower, 2.03 against 2.10 bits, the gap still widening. Per second it is the other way
round: here an RNN step takes about a third of an LSTM step's time, so in the LSTM's 45
seconds the RNN could take three times the steps.

## Exercises

1. Train on a text of your own, `Text(path="mybook.txt", seq_len=64)` (any UTF-8 file of a few
   hundred kilobytes: every 2000-character block is held out with a chance of 1 in 5), and let
   it write. Which of the six properties does `text_cells` find now?
2. Temperature: divide the test windows' logits above by $T$ before the softmax and compute the
   bits per character for $T$ = 0.5, 0.8, 1, 1.2, 2. Which $T$ gives the fewest bits, and why
   should a model trained by cross-entropy land there?
3. Give each kind the same seconds instead of the same steps: time the LSTM's 2000 steps
   (`time.perf_counter()` around `training.run`), then train a plain RNN and a GRU
   (`kind="gru"`) for as many steps as fit in that time. Which has the fewest bits per
   character now? And retrain the LSTM with `SequenceModel(..., forget_bias=-3)` (the forget
   gate nearly shut at the start): is the indented-line unit still there?""",
]

INTEROP = [
    """md:# 5. Keras and PyTorch side by side

The tutorial's code is Keras; the API here follows PyTorch. The weights go both ways, and the
numbers agree. Cells that need a library not installed say so and skip.""",
    SETUP,
    """try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: pip install torch, then run this notebook again")""",
    """md:## PyTorch: the same parameters, the same names

`tl.nn.LSTM` names its parameters as `torch.nn.LSTM` does, with the same shapes and gate order
(i, f, g, o), so a state dict moves across as it is.""",
    """if torch is not None:
    ours = tl.nn.LSTM(3, 5)
    theirs = torch.nn.LSTM(3, 5)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 2, 3)).astype(np.float32)
    a = ours(x)[0]
    b = theirs(torch.tensor(x))[0]
    (a ** 2).sum().backward()
    (b ** 2).sum().backward()
    print("outputs differ by", np.abs(a.numpy() - b.detach().numpy()).max())
    print("gradients differ by", max(np.abs(p.grad.numpy() - getattr(theirs, n).grad.numpy()).max()
                                      for n, p in ours.named_parameters()))""",
    """md:## Keras: the tutorial's model

Keras stores an LSTM's weights as `kernel` (input, 4H), `recurrent_kernel` (H, 4H) and one
`bias`, gates in the order i, f, c, o. `load_keras_weights` and `keras_weights` convert.""",
    """try:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
except ImportError:
    keras = None
    print("Keras is not installed: pip install keras (and torch), then run this notebook again")""",
    """if keras is not None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 1))
    layer = keras.layers.LSTM(8)
    keras_model = keras.Model(inputs, layer(inputs))
    ours = tl.nn.LSTM(1, 8, batch_first=True)
    ours.load_keras_weights(layer.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 4, 1)).astype(np.float32)
    theirs = keras_model.predict(x, verbose=0)
    mine = ours(x)[0].numpy()[:, -1]
    print("Keras:", theirs[0, :4].round(5))
    print("ours: ", mine[0, :4].round(5))
    print("largest difference", np.abs(theirs - mine).max())""",
    """md:## Exercises

1. Go the other way: `layer.set_weights(ours.keras_weights())`, and compare again.
2. A GRU: Keras's default is `reset_after=True`; ours follows torch. What does `load_keras_weights` ask of you?""",
]

NOTEBOOKS = {
    "1_autograd_from_scratch.ipynb": AUTOGRAD,
    "2_the_lstm_cell.ipynb": LSTM_CELL,
    "3_remembering_context.ipynb": CONTEXT,
    "4_text.ipynb": TEXT,
    "5_keras_and_pytorch.ipynb": INTEROP,
}


def build(cells):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in cells:
        if cell.startswith("md:"):
            notebook.cells.append(nbformat.v4.new_markdown_cell(cell[3:]))
        else:
            notebook.cells.append(nbformat.v4.new_code_cell(cell))
    return notebook


def run(notebook, cwd=HERE):
    """Execute in a fresh kernel; the notebook keeps its outputs. Returns the seconds it took."""
    start = time.perf_counter()
    NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    for cell in notebook.cells:  # (no run times or counts that change from run to run)
        cell.metadata.pop("execution", None)
    return time.perf_counter() - start


def main(only=()):
    for name, cells in NOTEBOOKS.items():
        if only and not name.startswith(tuple(only)):
            continue
        notebook = build(cells)
        seconds = run(notebook)
        nbformat.write(notebook, os.path.join(HERE, name))
        print(f"{name}: ran in {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
