"""What the docs promise an operator matches the code: every dead-letter kind is
explained, the compose file's pointers name real README sections, `run --help` says
what `run` starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from worker.dlq import DEAD_LETTER_KINDS, DeadKind

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_troubleshooting_explains_every_dead_letter_kind():
    troubleshooting = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    missing = [kind for kind in DEAD_LETTER_KINDS if f"`{kind}`" not in troubleshooting]
    assert missing == []


def test_every_kind_the_code_dead_letters_with_is_a_known_kind():
    # The literal kinds handed to the dead-letter store in the worker's code
    sources = [REPO / "worker" / "pipeline.py", REPO / "worker" / "tasks.py",
               REPO / "worker" / "auth" / "decide.py", REPO / "worker" / "classify.py"]
    found = set()
    for path in sources:
        text = path.read_text()
        found |= set(re.findall(r'(?:_dead_letter|dead|_keep_in_dlq)\([^)]*?"(\w+)"[,)]', text,
                                re.S))
        found |= set(re.findall(r'kind(?::\s*str)?\s*=\s*"(\w+)"', text))
        found |= set(re.findall(r'"(\w+)" if isinstance', text))
        found |= set(re.findall(r'"(\w+)",\s*(?:history|tried\.history|task\.request\.id|'
                                r'task_id|dlq)\b', text))
        found |= set(re.findall(r'dead\(str\(exc\),\s*"(\w+)"\)', text))
        found |= {DeadKind[name].value for name in re.findall(r"DeadKind\.([A-Z_]+)", text)}
    found.discard("history")
    assert found == set(DEAD_LETTER_KINDS), found ^ set(DEAD_LETTER_KINDS)


def test_the_compose_file_names_readme_sections_that_exist():
    compose = (REPO / "docker-compose.yml").read_text()
    for section, bullet in re.findall(r'README, "([^"]+)", "([^"]+)"', compose):
        assert f"## {section}\n" in README
        part = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**{bullet}.**" in part


def test_run_help_mentions_the_mirror_and_no_demo():
    shown = subprocess.run([sys.executable, "-m", "cli.main", "run", "--help"],
                           capture_output=True, text=True, timeout=60, cwd=REPO)
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "mirror" in text and "MIRROR_GHL_TO_TOKY" in text and "--no-demo" in text
