"""Make the commands' outputs quoted in README.md and docs/*.md again, by running them.

A quoted output sits between two markers, the command in the first:

    <!-- output of: tinygrad-lstm demo --no-progress -->
    ```text
    $ tinygrad-lstm demo --no-progress
    ...what it printed...
    ```
    <sub>measured on MACHINE, DATE: `python docs/regenerate.py` makes it again</sub>
    <!-- end of output -->

Each command runs from a fresh temporary folder (so `runs/` and the pictures land there, and one
block can use what an earlier block of the same page made), with no *_NUM_THREADS variable set,
as a user types it; what it prints replaces what was there, with the machine and the date. A
picture a command draws under the name of one in docs/figures/ replaces that figure.

    python docs/regenerate.py [FILE ...] [--list] [--only TEXT]

Links to lines of the code, written [`name`](../path.py#La-Lb), are set again to the lines the
definition called name spans now (--links does only that, which is quick).

--list prints the commands without running them; --only runs the blocks whose command contains
TEXT, --skip those that do not (the others are kept as they are). Some take minutes: the
benchmarks (memory_span.py some fifteen).
"""

import argparse
import ast
import datetime
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- output of: (?P<command>.+?) -->\n)(?P<body>.*?)(<!-- end of output -->)", re.S)


def blocks(text):
    """The quoted outputs of a page: [(command, match)]."""
    return [(m["command"], m) for m in BLOCK.finditer(text)]


def machine():
    """This machine in a few words: its CPU, cores and system."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def run(command, folder):
    """What command prints (stdout and stderr as they come) when typed in folder, tinygrad-lstm
    and python being this interpreter's."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"], env["PYTHONUNBUFFERED"] = str(ROOT), "1"  # (unbuffered: the two streams in order)
    line = re.sub(r"^tinygrad-lstm\b", f"{sys.executable} -m tinygrad_lstm", command)
    line = re.sub(r"^python\b", sys.executable, line)
    for folder_name in ("benchmarks", "examples", "docs"):  # (the project's scripts, run from elsewhere)
        line = line.replace(f" {folder_name}/", f" {ROOT}/{folder_name}/")
    done = subprocess.run(
        line, shell=True, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if done.returncode != 0:  # (quoted all the same: some blocks show a refusal; but say so here)
        print(f"  exit status {done.returncode}: {done.stdout.strip().splitlines()[-1:]}", file=sys.stderr)
    return done.stdout.rstrip("\n")


LINE_LINK = re.compile(r"\[`([\w.]+)`\]\(\.\./([\w/]+\.py)#L(\d+)-L(\d+)\)")


def definitions(path):
    """{qualified name: (first line, last line)} of every class and function in a file."""
    found = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                found[prefix + child.name] = (child.lineno, child.end_lineno)
                visit(child, prefix + child.name + ".")

    visit(ast.parse(path.read_text()), "")
    return found


def update_links(page):
    """Each line link of the page set to the lines its definition spans now."""

    def now(match):
        name, path = match[1], match[2]
        first, last = definitions(ROOT / path)[name]
        return f"[`{name}`](../{path}#L{first}-L{last})"

    text = page.read_text()
    page.write_text(LINE_LINK.sub(now, text))


def regenerate(page, only=None, skip=None):
    text = page.read_text()
    found = blocks(text)
    if not found:
        return
    stamp = f"measured on {machine()}, {datetime.date.today():%Y-%m-%d}"
    with tempfile.TemporaryDirectory() as folder:
        for command, _ in found:
            if (only and only not in command) or (skip and skip in command):
                continue
            print(f"{page.relative_to(ROOT)}: {command}", flush=True)
            output = run(command, folder)
            quoted = f"'{command}'" if '"' in command else f'"{command}"'
            body = (
                f"```text\n$ {command}\n{output}\n```\n"
                f"<sub>{stamp}: `python docs/regenerate.py --only {quoted}` makes it again</sub>\n"
            )
            match = next(m for c, m in blocks(text) if c == command)
            text = text[: match.start("body")] + body + text[match.end("body") :]
            for figure in (ROOT / "docs" / "figures").iterdir():
                drawn = pathlib.Path(folder) / figure.name
                if drawn.exists():
                    shutil.move(drawn, figure)
    page.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=pathlib.Path, default=PAGES)
    parser.add_argument("--list", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--only", help="run only the blocks whose command contains this")
    parser.add_argument("--skip", help="run all but the blocks whose command contains this")
    parser.add_argument("--links", action="store_true", help="only set the line links again")
    args = parser.parse_args()
    for page in args.pages:
        page = page.resolve()
        update_links(page)
        if args.links:
            continue
        if args.list:
            for command, _ in blocks(page.read_text()):
                print(f"{page.relative_to(ROOT)}: {command}")
        else:
            regenerate(page, args.only, args.skip)
    if shutil.which("dot") is None:
        print("(Graphviz's dot is not installed: commands that draw graphs said so)", file=sys.stderr)


if __name__ == "__main__":
    main()
