"""Mutation testing of the modules that carry the guarantees: score and survivors.

``make mutation`` runs this (``python scripts/mutation.py [--show] [MODULE...]``).
mutmut (the ``mutation`` extra; configured in pyproject.toml, ``[tool.mutmut]``)
makes small changes to each module (``>`` to ``>=``, a constant, a dropped
argument...) and runs the unit tests that cover the changed function; a change
no test notices "survives". This script runs the modules given (all by default), then prints
per module: mutants, killed (a test failed, or it timed out), survived, no test,
the score (killed / mutants: a mutant no test reaches counts against it), and
the survivors (``--show``: with their diffs, as ``mutmut show NAME`` prints them).

Exit status: 0 when every module reaches ``GOAL`` (85 %), 1 otherwise.
CPU-heavy: run it under ``nice`` (the Makefile does); ``MUTATION_CHILDREN`` sets
mutmut's parallel children (default 1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]
GOAL = 0.85
#: The modules that carry DESIGN.md's guarantees, and what each carries.
MODULES = {
    "worker/pipeline.py": "1 nothing lost, 4 latest wins, 6 retry or dead letter",
    "worker/versions.py": "4 latest wins, 2 duplicate event ids",
    "worker/dlq.py": "1 nothing lost (the dead-letter store)",
    "producers/queue.py": "1 and 2 (the publisher: queued once)",
    "worker/ratelimit/base.py": "5 the shared budget (the limiter's callers)",
    "worker/ratelimit/redis_backend.py": "5 the shared budget (the Lua scripts' callers)",
    "producers/webhook/token.py": "9 hostile input (the webhook token)",
    "clients/ghl/errors.py": "6 status -> error (retry, dead letter, refresh)",
    "worker/sync/contact_upsert.py": "3 one phone, one contact",
    "worker/conflicts.py": "3 one phone, one contact (shared emails recorded)",
}
KILLED = {"killed", "timeout"}


def mutant_prefix(module: str) -> str:
    """``clients/ghl/errors.py`` → ``clients.ghl.errors.`` (how mutmut names its mutants)."""
    return module.removesuffix(".py").replace("/", ".") + "."


def results() -> dict[str, str]:
    """Every mutant's name → its status (``mutmut results --all true``)."""
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            found[name] = status.strip()
    return found


def run(modules: list[str], children: int) -> None:
    """One ``mutmut run`` over ``modules`` (one collection of the tests, then only the
    tests covering each mutated function run for it)."""
    for module in modules:
        print(f"== mutmut: {module} ({MODULES[module]})", flush=True)
    done = subprocess.run([*MUTMUT, "run", "--max-children", str(children),
                           *(mutant_prefix(m) + "*" for m in modules)], cwd=ROOT, check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"mutmut run failed (exit {done.returncode}): see above")


def report(modules: list[str], show: bool) -> bool:
    statuses = results()
    all_ok, total = True, Counter()
    print(f"\n{'module':36} {'mutants':>7} {'killed':>6} {'survived':>8} {'no test':>7} "
          f"{'score':>6}")
    survivors: list[str] = []
    for module in modules:
        mine = {n: s for n, s in statuses.items() if n.startswith(mutant_prefix(module))}
        counts = Counter("killed" if s in KILLED else s for s in mine.values())
        score = counts["killed"] / len(mine) if mine else 0.0
        all_ok &= score >= GOAL
        total.update(counts)
        total["mutants"] += len(mine)
        print(f"{module:36} {len(mine):7} {counts['killed']:6} {counts['survived']:8} "
              f"{counts['no tests']:7} {score:6.1%}")
        survivors += sorted(n for n, s in mine.items() if s not in KILLED)
    overall = total["killed"] / total["mutants"] if total["mutants"] else 0.0
    print(f"{'all':36} {total['mutants']:7} {total['killed']:6} {total['survived']:8} "
          f"{total['no tests']:7} {overall:6.1%}   (goal {GOAL:.0%} per module)")
    if survivors:
        print(f"\nsurvivors ({len(survivors)}): `mutmut show NAME` shows one")
        for name in survivors:
            print(f"  {name}: {statuses[name]}")
            if show:
                diff = subprocess.run([*MUTMUT, "show", name], cwd=ROOT, capture_output=True,
                                      text=True).stdout
                print("    " + "\n    ".join(diff.splitlines()[1:]))
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"paths to mutate (default: {', '.join(MODULES)})")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument("--report-only", action="store_true",
                        help="print the last run's results without running mutmut")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not configured in [tool.mutmut] only_mutate: {', '.join(unknown)}")
    children = int(os.environ.get("MUTATION_CHILDREN", "1"))
    if not args.report_only:
        run(modules, children)
    return 0 if report(modules, args.show) else 1


if __name__ == "__main__":
    sys.exit(main())
