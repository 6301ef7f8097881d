"""Run every benchmark and write their figures as one Markdown table.

The table goes to standard output and to benchmarks/RESULTS.md, under a line that names
the machine: its CPU, its core count and the Python that ran. The Dask benchmark runs
only where dask.distributed is installed (``--group cluster``).

    $ python benchmarks/run_all.py
"""

import importlib
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ['flags2_speed', 'process_pool', 'suite_time']
OPTIONAL = {'cluster_overhead': 'distributed'}  # benchmark: the module it needs
RESULTS = HERE / 'RESULTS.md'


def cpu_model() -> str:
    cpuinfo = Path('/proc/cpuinfo')
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith('model name'):
                return line.partition(':')[2].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f'{cpu_model()}, {os.cpu_count()} cores, {platform.system()}'
        f' {platform.release()}, Python {platform.python_version()}'
    )


def cell(value: object) -> str:
    return f'{value:.2f}' if isinstance(value, float) else str(value)


def markdown(results: Mapping[str, Mapping[str, object]]) -> list[str]:
    lines = ['| Benchmark | Figure | Value |', '|---|---|--:|']
    for benchmark, figures in results.items():
        for figure, value in figures.items():
            lines.append(f'| {benchmark} | {figure} | {cell(value)} |')
    return lines


def main() -> None:
    sys.path.insert(0, str(HERE))
    names = BENCHMARKS + [
        name for name, needs in OPTIONAL.items() if importlib.util.find_spec(needs)
    ]
    results = {}
    for name in names:
        print(f'\n## {name}', flush=True)
        run: Callable[[], Mapping[str, object]] = importlib.import_module(name).main
        results[name] = run()
    stamp = time.strftime('%Y-%m-%d')
    report = [
        f'Measured on {stamp} with `python benchmarks/run_all.py`; {machine()}.',
        '',
        *markdown(results),
    ]
    print('', *report, sep='\n')
    RESULTS.write_text('\n'.join(report) + '\n')
    print(f'\nThe table is in {RESULTS}.')


if __name__ == '__main__':
    main()
