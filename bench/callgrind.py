"""Machine instructions of a bench's timed part, counted by callgrind.

Run the bench under `valgrind --tool=callgrind --instr-atstart=no
--callgrind-out-file=/dev/null`: `start()` before the timed part, `counted()` while it counts
(after `stop()` callgrind shows nothing). The machine's other load does not move the count: two
versions of the code compared by it differ by what they do, not by when they ran. About fifty
times slower than a plain run.
"""

from __future__ import annotations

import os
import re
import subprocess


def _control(*arguments: str) -> str:
    """`callgrind_control` with `arguments`, about this process; what it prints."""
    return subprocess.run(
        ["callgrind_control", *arguments, str(os.getpid())],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def start() -> None:
    _control("--instr=on")


def stop() -> None:
    _control("--instr=off")


def counted() -> int:
    """The instructions callgrind counted in this process so far (its `Ir`, all threads)."""
    shown = _control("-e", "Ir", "--stat")
    counts = re.findall(r"^\s*Th\s*\d+\s+([\d,]+)", shown, re.MULTILINE)
    if not counts:
        raise SystemExit(f"not under callgrind (valgrind --tool=callgrind): {shown.strip()}")
    return sum(int(count.replace(",", "")) for count in counts)
