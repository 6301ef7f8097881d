"""Run every benchmark; write their figures as one Markdown table, then what they say.

The table goes to standard output and to benchmarks/RESULTS.md, under a line that names
the machine (its CPU, its core count, the Python that ran and its OpenSSL) and how busy
it was: the load average at the start and at the end, since a shared machine slows the
CPU-bound benchmarks most. A benchmark's ``CLAIMS`` maps some of its figures to the ids
of the chapter's claims they measure (tests/claims.py); the table shows them, and
tools/spec_page.py puts each figure under its claims in SPEC.md. Under the table come
the sentences of each benchmark that has an ``explain(figures)``, written from this
run's figures, so that the explanation and its numbers never part. The Dask benchmark
runs only where dask.distributed is installed (``--group cluster``).

    $ python benchmarks/run_all.py
"""

import importlib
import importlib.util
import os
import platform
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    'flags_speed', 'pool_cost', 'process_pool', 'flags2_speed', 'request_cost',
    'suite_time',
]  # fmt: skip
OPTIONAL = {'cluster_overhead': 'distributed'}  # benchmark: the module it needs
RESULTS = HERE / 'RESULTS.md'
# What a benchmark may define besides main: its figures -> paragraphs about them.
Explain = Callable[[Mapping[str, float]], list[str]]


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
        f' with {ssl.OPENSSL_VERSION}'
    )


def load() -> float:
    """The 1-minute load average: how busy the machine was with other work too."""
    return os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')


def cell(value: object) -> str:
    return f'{value:.2f}' if isinstance(value, float) else str(value)


def markdown(
    results: Mapping[str, Mapping[str, object]],
    claims: Mapping[str, Mapping[str, str]],
) -> list[str]:
    lines = ['| Benchmark | Claims | Figure | Value |', '|---|---|---|--:|']
    for benchmark, figures in results.items():
        for figure, value in figures.items():
            ids = claims[benchmark].get(figure, '')
            lines.append(f'| {benchmark} | {ids} | {figure} | {cell(value)} |')
    return lines


def main() -> None:
    sys.path.insert(0, str(HERE))
    names = BENCHMARKS + [
        name for name, needs in OPTIONAL.items() if importlib.util.find_spec(needs)
    ]
    results: dict[str, Mapping[str, float]] = {}
    claims: dict[str, Mapping[str, str]] = {}
    notes: list[str] = []
    load_before = load()
    for name in names:
        print(f'\n## {name}', flush=True)
        module = importlib.import_module(name)
        run: Callable[[], Mapping[str, float]] = module.main
        results[name] = run()
        claims[name] = getattr(module, 'CLAIMS', {})
        if unknown := set(claims[name]) - set(results[name]):
            sys.exit(f'*** {name}.CLAIMS names figures it did not report: {unknown}')
        explain: Explain | None = getattr(module, 'explain', None)
        if explain:
            notes += ['', f'**{name}.** ' + '\n\n'.join(explain(results[name]))]
    stamp = time.strftime('%Y-%m-%d')
    report = [
        f'Measured on {stamp} with `python benchmarks/run_all.py`; {machine()}.'
        f' Load average {load_before:.1f} at the start, {load():.1f} at the end.',
        '',
        *markdown(results, claims),
        *notes,
    ]
    print('', *report, sep='\n')
    RESULTS.write_text('\n'.join(report) + '\n')
    print(f'\nThe table is in {RESULTS}.')


if __name__ == '__main__':
    main()
