"""Support for the process-pool listings: workers that Ctrl-C does not reach, and a way
to stop a pool now instead of after the tasks it has queued.

A Ctrl-C in a terminal reaches every process of the foreground job, pool workers too:
a worker waiting for work would die with a traceback of its own. So the workers ignore
SIGINT (``ignore_ctrl_c`` as their initializer), and the main process, which does get
the KeyboardInterrupt, stops them with ``stop_workers``.
"""

import signal
import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor

MANAGER_TIMEOUT = 5.0  # seconds; it takes milliseconds once the workers are gone


def ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(executor: Executor) -> None:
    """Shut the executor down without waiting for the tasks it has started."""
    if not isinstance(executor, ProcessPoolExecutor):
        executor.shutdown(wait=False)  # any Executor, Dask's too
        return
    # The thread that feeds the workers ends once they are gone. Wait for it: an exit
    # during its clean-up can race with the pool's exit hook ('Bad file descriptor').
    # Private, as is _processes below (and typeshed mistypes it: a Thread it is).
    manager: threading.Thread | None = executor._executor_manager_thread  # type: ignore[assignment]
    if sys.version_info >= (3, 14):
        executor.terminate_workers()  # cancels what is queued, then SIGTERM to each
    else:
        # What terminate_workers does, by hand. Without cancel_futures: on 3.10 and
        # 3.11 the pool's manager thread may then fail on a cancelled future.
        workers = list(executor._processes.values())  # copy it before shutdown
        executor.shutdown(wait=False)
        for worker in workers:
            worker.terminate()
    if manager is not None:
        manager.join(MANAGER_TIMEOUT)
