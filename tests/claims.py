"""The chapter's claims, C01 to C34, in its order: the index that SPEC.md follows.

Each claim is one thing chapter 20 states or shows, in our words, filed under the
chapter's section. A test proves a claim by citing its id with a marker,
``@pytest.mark.claims('C17')``; a claim marked ``measured`` (speed, cost) is proved by
a benchmark figure instead: benchmarks/run_all.py writes each figure to RESULTS.md with
the ids it measures, from the ``CLAIMS`` table of its benchmark. tools/spec_page.py
puts the two together and, with ``--strict``, fails when a claim has no proof or a
test cites an id that is not here. ``versions`` says what holds on which Python where
that changed after the book. After the chapter come the sections that go beyond it:
what a test that cites no claim documents.
"""

from __future__ import annotations

from typing import NamedTuple


class Claim(NamedTuple):
    id: str
    text: str
    measured: bool = False
    versions: str = ''  # what holds on each side of a change, if the claim changed


class Section(NamedTuple):
    title: str
    intro: str  # what the chapter shows here, and which script shows it
    claims: tuple[Claim, ...]


CHAPTER = (
    Section(
        'Concurrent web downloads',
        'The chapter opens with network I/O, where concurrency pays: while one request'
        ' waits for the server, others can be in flight. `flags.py` and'
        ' `flags_threadpool.py` download the same flags from `slow_server.py`, and'
        ' `benchmarks/flags_speed.py` times them side by side.',
        (
            Claim(
                'C01',
                'Network I/O is where concurrency pays: while one request waits for'
                ' the remote machine, the program can have other requests in flight.',
                measured=True,
            ),
        ),
    ),
    Section(
        'A sequential download script',
        '`flags.py` is the baseline every concurrent variant reuses: `get_flag`'
        ' fetches one image, `save_flag` writes it, `download_many` loops over the'
        ' codes and `main` times the run.',
        (
            Claim(
                'C02',
                '`flags.py` fetches the 20 flags of the most populous countries one'
                ' after another, in sorted order of country code, saves each under'
                ' `CC.gif`, prints each code as it goes, then the count and the time.',
            ),
            Claim(
                'C03',
                'The flag URL is built from the code and lower-cased; the request has'
                ' a timeout, follows redirects, and an error status becomes an'
                ' exception rather than a saved page.',
            ),
            Claim(
                'C04',
                '`main` creates the destination folder if needed (an existing one is'
                ' fine), times the downloader it is given, and reports'
                ' `N downloads in S s`.',
            ),
            Claim(
                'C05',
                'One at a time, the total time is about the number of requests times'
                ' the latency of one request (the chapter: 20 flags in 11.5 s).',
                measured=True,
            ),
        ),
    ),
    Section(
        'Downloading with concurrent.futures',
        '`flags_threadpool.py` changes only `download_many`: `executor.map` runs'
        ' `download_one` over the codes on a `ThreadPoolExecutor`. The generic claims'
        ' run on every kind of pool through the `executor` fixture.',
        (
            Claim(
                'C06',
                '`ThreadPoolExecutor` and `ProcessPoolExecutor` run submitted callables'
                ' in other threads or processes; each manages its workers and the'
                ' queues that hand out the calls and bring back the results.',
            ),
            Claim(
                'C07',
                '`flags_threadpool.py` changes only `download_many`: `download_one`'
                ' (fetch, save, print, return the code) is the unit of work, and'
                ' `executor.map` runs it over the sorted codes on a thread pool.',
            ),
            Claim(
                'C08',
                'The codes print in the order the downloads finish, which varies from'
                ' run to run, while `map` hands back the results in input order.',
            ),
            Claim(
                'C09',
                'Leaving the `with` block waits for every submitted call to finish'
                ' (`shutdown(wait=True)`).',
            ),
            Claim(
                'C10',
                '`map` returns a generator at once; counting its results consumes it,'
                ' and an exception raised in a call comes out when its result is'
                ' reached.',
            ),
            Claim(
                'C11',
                "The thread pool's default number of workers is chosen for I/O-bound"
                ' work.',
                versions='3.10–3.12: `min(32, os.cpu_count() + 4)`;'
                ' 3.13+: `min(32, os.process_cpu_count() + 4)`.',
            ),
            Claim(
                'C12',
                'On the same flags the thread pool is several times faster than the'
                ' sequential script.',
                measured=True,
            ),
        ),
    ),
    Section(
        'Where are the futures?',
        '`flags_threadpool_futures.py` replaces `map` with `submit` and'
        ' `as_completed`, and prints each future as it is scheduled and each result as'
        ' it comes; `tests/test_futures.py` shows the `Future` API on every kind of'
        ' pool.',
        (
            Claim(
                'C13',
                'There are two `Future` classes, `concurrent.futures.Future` and'
                ' `asyncio.Future`, with the same role: a computation that may or may'
                ' not have finished.',
            ),
            Claim(
                'C14',
                'A future can be asked whether it is done, and its result, or the'
                ' exception the call raised, taken once available; `result()` blocks'
                ' until then, or until an optional timeout passes.',
            ),
            Claim(
                'C15',
                'Code normally does not create futures: the executor creates one for'
                ' each `submit` and hands it back at once, before the call has run.',
            ),
            Claim(
                'C16',
                "A future's repr shows its state: pending, running, or finished with"
                ' its result or exception; with three workers, the first three'
                ' submitted are running and the rest pending.',
            ),
            Claim(
                'C17',
                '`as_completed` yields the futures as they finish, whatever the order'
                ' they were submitted in; the result of a future it yields is ready'
                ' without waiting.',
            ),
            Claim(
                'C18',
                'A callback attached to a future runs when it finishes; a future that'
                ' has not started can be cancelled, one that runs cannot.',
            ),
        ),
    ),
    Section(
        'Launching processes with concurrent.futures',
        '`flags_threadpool_futures.py --processes` makes the one-line switch to'
        ' `ProcessPoolExecutor`. The process pools run here under each start method'
        ' (`fork`, `forkserver`, `spawn`); costs are measured in'
        ' `benchmarks/pool_cost.py` and `benchmarks/process_pool.py`.',
        (
            Claim(
                'C19',
                '`ProcessPoolExecutor` runs calls in several Python processes, so'
                ' CPU-bound work runs in parallel on several cores, which threads'
                ' cannot do under the GIL.',
                measured=True,
                versions='Workers start by `fork` on Linux in 3.10–3.13, by'
                ' `forkserver` from 3.14 on.',
            ),
            Claim(
                'C20',
                'Both pools implement the same `Executor` interface: switching from'
                ' threads to processes is a one-line change, and the results are the'
                ' same.',
            ),
            Claim(
                'C21',
                "The process pool's default number of workers is the number of CPUs.",
                versions='3.10–3.12: `os.cpu_count()`;'
                ' 3.13+: `os.process_cpu_count()`.',
            ),
            Claim(
                'C22',
                'For I/O-bound work such as the flag downloads a process pool brings'
                ' no advantage over threads.',
                measured=True,
            ),
            Claim(
                'C23',
                'Processes use more memory and take longer to start than threads.',
                measured=True,
            ),
            Claim(
                'C24',
                'Calls and results travel to and from worker processes by pickling, so'
                ' the function must be importable by name and the values picklable.',
            ),
        ),
    ),
    Section(
        'Multicore prime checker',
        '`proc_pool.py` checks the 20 numbers of `primes.py` on a process pool and'
        ' prints each result with the time its check took; `benchmarks/process_pool.py`'
        ' races it against threads and the sequential loop.',
        (
            Claim(
                'C25',
                '`proc_pool.py` checks the 20 numbers for primality on a process pool;'
                ' the number of workers comes from the command line, and by default'
                ' the pool picks it.',
            ),
            Claim(
                'C26',
                'The numbers go in from largest to smallest, and the results come back'
                ' in that input order, each with the time its own check took, then the'
                ' total time.',
            ),
            Claim(
                'C27',
                'With one worker per core the total time drops close to the sum of the'
                ' checks divided by the workers, while threads gain nothing on the'
                ' same work.',
                measured=True,
            ),
        ),
    ),
    Section(
        'Experimenting with Executor.map',
        '`demo_executor_map.py` runs `loiter(n)` on three threads and prints when each'
        ' call starts, ends and has its result taken; its `--timeline` draws that.',
        (
            Claim(
                'C28',
                '`map` submits every call at once and returns a generator straight'
                ' away, before any call has finished.',
                versions='3.14+: `map(..., buffersize=N)` submits only N calls ahead'
                ' of the results taken.',
            ),
            Claim(
                'C29',
                'With three workers, the first three calls start at once and each'
                ' further call starts when a worker is free.',
            ),
            Claim(
                'C30',
                'The generator yields the results in input order: taking a result'
                ' blocks until that call is done, even when later calls finished'
                ' earlier.',
            ),
        ),
    ),
    Section(
        'Downloads with progress display and error handling',
        '`flags2_sequential.py`, `flags2_threadpool.py` and `flags2_asyncio.py` share'
        ' `flags2_common.py` and differ only in how they run the requests; they run'
        ' against `slow_server.py`, which can be slow and can fail.',
        (
            Claim(
                'C31',
                'The three downloaders share the command line, the reports and the'
                ' saving, and differ only in how they run the requests.',
            ),
            Claim(
                'C32',
                'A 404 counts as "not found", any other failure as an error; the run'
                ' goes on after either and the final report gives the counts.',
            ),
            Claim(
                'C33',
                'A progress bar advances as each download completes, which'
                ' `as_completed` (and its asyncio counterpart) makes possible.',
            ),
            Claim(
                'C34',
                'The concurrent clients cap the number of requests in flight (a pool'
                ' size, or a semaphore for asyncio), set on the command line.',
            ),
        ),
    ),
)

# The sections beyond the chapter, in SPEC.md's order, and what each holds. A test that
# cites no claim goes to the first that takes it (see tools/spec_page.py).
BEYOND = {
    'What Python 3.14 adds': 'The book predates 3.14, which adds a third executor,'
    ' `InterpreterPoolExecutor`, and `map(..., buffersize=N)`: the scripts use them'
    ' where the running Python has them.',
    'Ctrl-C and other endings': 'Not in the book: every way a run can end is clean.'
    ' Ctrl-C (which a terminal sends to every process of the job) and SIGTERM stop any'
    ' script at once, at any moment, with its one-line report and status 130 or 143;'
    ' even SIGKILL leaves no worker or server behind; a closed stdout ends a run'
    ' quietly (141), a full disk with one line (1). `stopping.py`, which every script'
    ' imports first, does it all; `tools/soak.py` tries each ending at random moments.',
    'The listings, made robust': 'Not in the book: bad input, a server that fails, a'
    ' full disk or a folder that cannot be made end a script with one clear line;'
    ' saves are atomic; every option a script has is documented here, by script.',
    'The flag server': 'The chapter tests its clients against local servers that can'
    ' be slow or fail; `slow_server.py` serves the flags from memory, on 127.0.0.1'
    ' only, with the delays and errors asked for.',
    'Every script behaves alike': 'What each script of `chapter20/` does alike: help,'
    ' usage errors with status 2, and one line for a failure of its environment.',
    'The race, and a Dask cluster': '`race.py` races the approaches against their'
    ' ideal times; `cluster_pool.py` runs the prime check on a Dask cluster behind'
    ' the same `Executor` interface.',
}

ALL = {claim.id: claim for section in CHAPTER for claim in section.claims}
