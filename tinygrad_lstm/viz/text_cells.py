"""The cells that learn to read: a passage of text, each character coloured by one LSTM unit's
cell state, for the units that best follow a simple property of the text.

Karpathy, Johnson and Fei-Fei (2015, "Visualizing and Understanding Recurrent Networks") found
units in a character-level LSTM that switch on inside quotes, that count along a line, that
track the depth of brackets. This is their picture, with the finding automated and measured:
for each property below, every unit's cell state c_t (after reading character t) is
correlated with the property's value at t over a stretch of held-out text (Pearson's r), and
the unit with the largest |r| is the one shown. Where even that unit's |r| is below FOLLOWS,
the page says no unit follows the property: a number, not a label put on a picture.

In the tutorial's words, c_t is the note-taker's notebook: a unit that holds "inside a quote"
from the opening mark to the closing one is a note kept across the whole quotation, written
by the input gate at the first mark and erased by the forget gate at the second.
"""

import html
import os

import numpy as np

from ..checks import is_integer
from ..files import write_atomically
from .plots import _pyplot, lstm_values

FOLLOWS = 0.3  # |r| from which a unit is said to follow a property


def _quoted(text):
    """1 between a double quote and the next one, or between an opening and a closing curly one
    (the quote marks themselves count as inside)."""
    inside, values = False, []
    for ch in text:
        if ch in '"\u201c\u201d':
            inside = not inside if ch == '"' else ch == "\u201c"
            values.append(1.0)
        else:
            values.append(float(inside))
    return np.array(values)


def _bracketed(text):
    """1 inside (), [] or {} (at any depth)."""
    depth, values = 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        values.append(float(depth > 0))
        if ch in ")]}":
            depth = max(0, depth - 1)
    return np.array(values)


def _column(text):
    """How far along its line the character is: 0 for the first."""
    values, column = [], 0
    for ch in text:
        values.append(float(column))
        column = 0 if ch == "\n" else column + 1
    return np.array(values)


def _after_space(text):
    return np.array([0.0] + [float(ch == " ") for ch in text[:-1]])


def _in_word(text):
    return np.array([float(ch.isalpha()) for ch in text])


def _indented(text):
    """1 on a line that starts with three spaces or more (the code examples of Python's docs)."""
    values = []
    for line in text.split("\n"):
        mark = float(line.startswith("   "))
        values += [mark] * (len(line) + 1)
    return np.array(values[: len(text)])


PROPERTIES = {  # name -> (the rule, in words; the value at each character)
    "inside quotes": ('1 from a " to the next " (or from \u201c to \u201d), else 0', _quoted),
    "inside brackets": ("1 inside (), [] or {}, else 0", _bracketed),
    "position in the line": ("the number of characters since the last newline", _column),
    "just after a space": ("1 if the character before is a space, else 0", _after_space),
    "inside a word": ("1 on a letter, else 0", _in_word),
    "in an indented line": ("1 on a line that starts with 3 spaces or more, else 0", _indented),
}


def correlations(values, cells):
    """Pearson's r of the property values (T,) with each unit's cell state (T, H): (H,), 0
    where either side is constant."""
    v = values - values.mean()
    c = cells - cells.mean(axis=0)
    denominator = np.sqrt((v**2).sum() * (c**2).sum(axis=0))
    return np.divide(v @ c, denominator, out=np.zeros(cells.shape[1]), where=denominator > 0)


class TextCells:
    """What text_cells found: for each property, found[name] = (unit, r, rule) of the unit that
    follows it best, and untrained[name], the best r of an untrained network of the same sizes;
    forget[name], that unit's mean forget gate at line breaks and at every other character;
    the passage and every unit's cell state along it. save(path): .html or .png; in a notebook
    it shows itself."""

    def __init__(self, passage, cells, found, measured_on, measured_cells, untrained, forget):
        self.passage, self.cells, self.found, self.measured_on = passage, cells, found, measured_on
        self.untrained = untrained  # for each property, the best unit's r in an untrained network
        self.forget = forget  # for each property, its unit's mean f_t at line breaks and elsewhere
        self.measured_cells = measured_cells  # (measured_on, H): every unit's c_t over the measured text
        # each unit's mean and standard deviation over the measured text
        self.centre, self.spread = measured_cells.mean(axis=0), measured_cells.std(axis=0)

    def shown(self, unit, r):
        """The unit's cell state along the passage as drawn: its distance from the unit's mean in
        standard deviations over the measured text, the sign flipped where r < 0 (so that red is
        where the property holds)."""
        if unit is None:  # (a rule constant over the measured text: no unit was chosen)
            return np.zeros(len(self.passage))
        spread = self.spread[unit] if self.spread[unit] > 0 else 1.0
        return (self.cells[:, unit] - self.centre[unit]) / spread * (1 if r >= 0 else -1)

    def html(self):
        """A whole page, self-contained (nothing is fetched)."""
        return _PAGE.format(body=_body(self))

    def _repr_html_(self):  # shown in a notebook: the body alone, its style kept to itself
        return _body(self)

    def save(self, path):
        """Write the page (.html, self-contained: nothing is fetched) or a picture (.png)."""
        name = os.fsdecode(path)
        suffix = os.path.splitext(name)[1].lower()
        if suffix in (".html", ".htm"):
            page = self.html().encode("utf-8")
            return write_atomically(name, lambda f: f.write(page))
        if suffix == ".png":
            figure = _figure(self)
            try:
                return write_atomically(name, lambda f: figure.savefig(f, format="png", dpi=100))
            finally:
                _pyplot().close(figure)
        raise ValueError(f"text_cells: unknown format {suffix or '(no suffix)'!r} in {name!r}; use .html or .png")


def text_cells(model, task, passage=None, chars=600, measure_chars=6000):
    """Find, for each property of PROPERTIES, the unit of model's first LSTM layer whose cell
    state follows it best, measured over `measure_chars` characters of task's held-out (test)
    text; show it on `passage` (default: the telling stretch of `chars` characters of that text).
    model: a SequenceModel of kind "lstm" trained on a text task; task: that task.
    Each held-out stretch (a run of consecutive test blocks) is read from a zero state, as it
    stands in the text: nothing is put between two stretches that the text does not hold."""
    from ..tasks.text import check_text_model

    check_text_model("text_cells", model, task)
    if getattr(model, "kind", None) != "lstm":
        raise ValueError(f"text_cells: needs an LSTM model (its cell state c), got {model.kind!r}")
    for name, value in (("chars", chars), ("measure_chars", measure_chars)):
        if not is_integer(value, 2):
            raise ValueError(f"text_cells: {name} must be an integer >= 2, got {value!r}")
    if passage is not None and (not isinstance(passage, str) or not passage):
        raise ValueError(f"text_cells: passage must be a non-empty str, or None, got {passage!r}")
    pieces, left = [], measure_chars  # the held-out stretches, in order, up to measure_chars characters
    for lo, hi in task.stretches["test"]:
        if left >= 2:
            pieces.append(task.text[lo : min(hi, lo + left)])
            left -= len(pieces[-1])
    states = [_cell_states(model, task, piece, ("c", "f")) for piece in pieces]
    cells, forget = (np.concatenate([state[name] for state in states]) for name in ("c", "f"))
    at_break = np.array([ch == "\n" for piece in pieces for ch in piece])
    # The same measurement on an untrained network of the same sizes: what a unit follows there
    # comes from the input alone (a letter is a letter), not from anything learned or remembered.
    untrained_cells = np.concatenate([_cell_states(_untrained_like(model, task), task, piece) for piece in pieces])
    found, untrained = {}, {}
    for name, (rule, rule_of) in PROPERTIES.items():
        values = np.concatenate([rule_of(piece) for piece in pieces])
        if values.min() == values.max():  # (no correlation to measure: r is undefined)
            found[name], untrained[name] = (None, float("nan"), rule), float("nan")
            continue
        r, r_untrained = correlations(values, cells), correlations(values, untrained_cells)
        unit = int(np.argmax(np.abs(r)))
        found[name], untrained[name] = (unit, float(r[unit]), rule), float(r_untrained[np.argmax(np.abs(r_untrained))])
    # The tutorial's "erase": does a unit's forget gate drop where a line ends? (nan: no line break)
    kept = {
        name: tuple(
            float(forget[where, unit].mean()) if where.any() else float("nan") for where in (at_break, ~at_break)
        )
        for name, (unit, _, _) in found.items()
        if unit is not None
    }
    if passage is None:
        passage = max(
            (_telling_passage(task.text[lo:hi], chars) for lo, hi in task.stretches["test"]), key=_telling_score
        )
    shown = _cell_states(model, task, passage)
    return TextCells(passage, shown, found, len(cells), cells, untrained, kept)


def _untrained_like(model, task):
    """A SequenceModel of model's kind and sizes, as built before any training (seed 0)."""
    from ..random import seeded
    from ..train import SequenceModel

    with seeded(0):
        return SequenceModel(
            task,
            kind=model.kind,
            hidden=model.rnn.hidden_size,
            num_layers=model.rnn.num_layers,
            embedding=model.embed.embedding_dim,
        )


def _telling_score(piece):
    return piece.count('"') + piece.count("(") + piece.count("\n   ")


def _telling_passage(text, chars):
    """The stretch of `chars` characters, starting at a line, where the properties have most to
    show: the most quote marks, brackets and indented lines."""
    starts = [0] + [k + 1 for k, ch in enumerate(text[: max(1, len(text) - chars)]) if ch == "\n"]
    best = max(starts, key=lambda start: _telling_score(text[start : start + chars]))
    return text[best : best + chars]


def _cell_states(model, task, text, names=None):
    """c along text, (T, H); or with names, {name: (T, H)} of those LSTM values."""
    values = lstm_values(model, task.encode(text)[None, :], names or ("c",))
    values = {name: value[0].astype(np.float64) for name, value in values.items()}
    return values if names else values["c"]


# ----- the page -------------------------------------------------------------------------


def _shade(value, scale=2.0):
    """A background colour: white at 0, red towards +scale, blue towards -scale (standard deviations)."""
    t = float(np.clip(value / scale, -1, 1))
    fade = int(255 * (1 - abs(t)))
    return f"rgb(255,{fade},{fade})" if t >= 0 else f"rgb({fade},{fade},255)"


def _verdict(unit, r, r_untrained):
    if unit is None:
        return "the rule is the same for every measured character: there is nothing for a unit to follow"
    if abs(r) < FOLLOWS:
        return f"no unit follows it well: the best, unit {unit}, has r = {r:+.2f} (|r| below {FOLLOWS})"
    if abs(r_untrained) >= FOLLOWS:
        return (
            f"unit {unit} follows it: r = {r:+.2f}; but so does a unit of the untrained network "
            f"(r = {r_untrained:+.2f}): the input alone gives it, nothing learned"
        )
    return f"unit {unit} follows it: r = {r:+.2f} (the untrained network's best: r = {r_untrained:+.2f})"


def _body(found):
    sections = []
    for name, (unit, r, rule) in found.found.items():
        follows = unit is not None and abs(r) >= FOLLOWS
        values = found.shown(unit, r)
        spans = []
        for k, (ch, v) in enumerate(zip(found.passage, values)):
            shown = "⏎<br>" if ch == "\n" else html.escape(ch).replace(" ", "&nbsp;")
            title = "" if unit is None else f' title="c = {found.cells[k, unit]:+.3f}"'
            spans.append(f'<span style="background:{_shade(v)}"{title}>{shown}</span>')
        verdict = _verdict(unit, r, found.untrained[name])
        sections.append(
            f'<section class="property" data-property="{html.escape(name)}" data-unit="{"" if unit is None else unit}" '
            f'data-r="{r:.4f}" data-untrained-r="{found.untrained[name]:.4f}" data-follows="{str(follows).lower()}">\n'
            f"<h2>{html.escape(name)}</h2>\n"
            f"<p>rule: {html.escape(rule)}. {html.escape(verdict)}"
            f"{'' if unit is None or r >= 0 else ' (its sign flipped: red where the rule says 1)'}.</p>\n"
            f'<div class="text">{"".join(spans)}</div>\n</section>'
        )
    return f"""<div class="tl-text-cells">
<style>
.tl-text-cells {{ font-family: sans-serif; color: #222; }}
.tl-text-cells .text {{ font-family: monospace; font-size: 13px; line-height: 1.5; border: 1px solid #ccc;
  padding: .5em; }}
.tl-text-cells h2 {{ margin-bottom: .2em; }} .tl-text-cells p {{ margin-top: .2em; }}
</style>
<p>Each character's background is one unit's cell state c after reading it: red above the unit's
mean, blue below, white at it, full colour at two standard deviations. For each property, the
unit shown is the one of the {found.cells.shape[1]} whose c has the largest correlation with the
property's value (Pearson's r, over {found.measured_on} held-out characters); a unit "follows" a
property from |r| = {FOLLOWS}. The same measurement on an untrained network of the same sizes
says what the input alone gives.</p>
{chr(10).join(sections)}
</div>"""


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The cells that learn to read</title>
<style>body {{ max-width: 70em; margin: 1em auto; }}</style></head><body>
<h1>The cells that learn to read</h1>
{body}
</body></html>
"""


def _figure(found, lines=6, width=90):
    """The passage's first lines under each property's unit, as coloured character cells."""
    plt = _pyplot()
    full = found.passage.split("\n")[:lines]
    rows = [line[:width] for line in full]
    names = list(found.found)
    figure, axes = plt.subplots(len(names), 1, figsize=(width * 0.11, len(names) * (lines * 0.22 + 0.5)))
    for ax, name in zip(np.atleast_1d(axes), names):
        unit, r, _ = found.found[name]
        values = found.shown(unit, r)
        position = 0
        for row, line in enumerate(rows):
            for col, ch in enumerate(line):
                shade = _shade(values[position + col])
                rgb = [int(v) / 255 for v in shade[4:-1].split(",")]
                ax.add_patch(plt.Rectangle((col, -row - 1), 1, 1, color=rgb, lw=0))
                ax.text(col + 0.5, -row - 0.5, ch, ha="center", va="center", family="monospace", fontsize=7)
            position += len(full[row]) + 1
        ax.set_xlim(0, width)
        ax.set_ylim(-lines, 0)
        ax.axis("off")
        ax.set_title(f"{name}: {_verdict(unit, r, found.untrained[name])}", fontsize=9, loc="left")
    figure.tight_layout()
    return figure
