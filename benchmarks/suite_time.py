"""Time the behaviour spec as tox runs it, ``pytest -n auto``, against its 12 s budget.

The spec runs in a subprocess from the repository root with this Python; the figures
are its wall time, the ratio to the budget, and the slowest tests pytest reports.

    $ python benchmarks/suite_time.py
"""

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 12.0  # seconds of wall time for the whole spec on 2 cores
SLOWEST = 5  # durations to show
DURATION = re.compile(r'^(\d+\.\d+)s (call|setup|teardown) +(\S+)$', re.MULTILINE)


def main() -> dict[str, float]:
    command = [sys.executable, '-m', 'pytest', '-n', 'auto', f'--durations={SLOWEST}']
    print(f'Running {" ".join(command[1:])} in {ROOT}...', flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    durations = DURATION.findall(proc.stdout)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ''
    print(f'  {summary.strip("= ")}')
    for seconds, phase, test in durations:
        print(f'  {seconds:>6}s {phase:8} {test}')
    ratio = elapsed / BUDGET
    print(f'  wall time {elapsed:.2f}s, {ratio:.2f} of the {BUDGET:.0f}s budget')
    if proc.returncode != 0:
        print(f'*** The spec failed (status {proc.returncode}).', file=sys.stderr)
    return {
        'wall time (s)': elapsed,
        f'wall time / {BUDGET:.0f} s budget (≤ 1)': ratio,
        'slowest test (s)': max((float(d[0]) for d in durations), default=0.0),
        'exit status of pytest (0)': proc.returncode,
    }


if __name__ == '__main__':
    main()
