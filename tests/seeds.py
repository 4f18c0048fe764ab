"""Seed lists of the random regressions and the command that replays one seed."""
from __future__ import annotations

import os


def seeds_from_env(variable: str, default: str) -> list[int]:
    """The seeds an environment variable names: "START:COUNT" or a comma-separated list."""
    spec = os.environ.get(variable) or default
    try:
        if ":" in spec:
            start, count = (int(v) for v in spec.split(":"))
            return list(range(start, start + count))
        return [int(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{variable}={spec!r}: expected START:COUNT (e.g. 0:100) or a comma-separated "
                         "list of seeds (e.g. 5,17)") from None


def replay_command(variable: str, seed: int, kind: str, cfg) -> str:
    """One line that reruns `seed` of the `kind` test ("programs", "networks") on this simulator."""
    sim = os.environ.get("DLP_SIMULATOR", "verilator")
    return (f"{variable}={seed} .venv/bin/python -m pytest tests/cocotb/test_random.py "
            f"-k '{kind} and {sim} and {cfg.short_id()}'")
