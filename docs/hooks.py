"""MkDocs hooks: the pages that must not drift from the code are generated from it.

* ``<!-- cli-reference -->``: every subcommand's usage and options, from
  `answerkey.cli.parser()` (what `answerkey --help` prints).
* ``<!-- scaffold-module -->``: the module `answerkey new-exercise tanh-step` writes,
  produced by the scaffold itself.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

CLI = "<!-- cli-reference -->"
SCAFFOLD = "<!-- scaffold-module -->"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name (argparse has no public way to walk them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def purposes(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def cli_reference() -> str:
    """Markdown for every subcommand: its one-line purpose and its full help text."""
    from answerkey.cli import parser

    os.environ["COLUMNS"] = "100"
    top = parser()
    out = ["```text", top.format_usage().strip(), "```", ""]
    helps = purposes(top)
    for name, sub in subcommands(top).items():
        purpose = helps.get(name, "")
        out += [f"## `answerkey {name}`", "", purpose[:1].upper() + purpose[1:] + ".", ""]
        out += ["```text", sub.format_help().strip(), "```", ""]
    return "\n".join(out)


def scaffold_module() -> str:
    """The scaffold's module for the name tanh-step, as a Python code block."""
    from answerkey.kit.scaffold import new_exercise

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "solutions").mkdir()
        (root / "tests").mkdir()
        written = new_exercise("tanh-step", root)
        module = next(p for p in written if p.parent.name == "solutions")
        source = module.read_text(encoding="utf-8")
    return f'```python title="solutions/tanh_step.py"\n{source.rstrip()}\n```'


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if CLI in markdown:
        markdown = markdown.replace(CLI, cli_reference())
    if SCAFFOLD in markdown:
        markdown = markdown.replace(SCAFFOLD, scaffold_module())
    return markdown
