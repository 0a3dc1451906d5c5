"""Helpers for the rules tests: the docs' example, a dry run with rules."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_example() -> dict:
    """The example rules file of docs/automations.md (its first YAML block)."""
    text = (DOCS / "automations.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "docs/automations.md has no yaml example"
    return yaml.safe_load(block.group(1))
