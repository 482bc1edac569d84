"""Work handed to another thread and taken back (``index.threads``)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from paperwire.index.threads import handed_or_here, taken_back


def test_handed_work_is_waited_for_once_running_and_taken_back_while_queued() -> None:
    here: list[str] = []

    def work(name: str, *, pause: float = 0.0) -> str:
        here.append(f"{name} in {threading.current_thread().name}")
        time.sleep(pause)
        return name

    assert handed_or_here(None, work, "never handed") == "never handed"
    with ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
        release = threading.Event()
        busy = pool.submit(release.wait, 5)  # the only thread: what comes next queues
        queued = pool.submit(work, "queued")
        assert handed_or_here(queued, work, "queued") == "queued"
        assert queued.cancelled() and here[-1] == f"queued in {threading.current_thread().name}"
        also_queued = pool.submit(work, "dropped")
        taken_back(also_queued)  # not wanted: cancelled, never run
        assert also_queued.cancelled()
        release.set()
        busy.result(5)
        running = pool.submit(work, "running", pause=0.2)
        while not running.running():
            time.sleep(0.01)
        assert handed_or_here(running, work, "running") == "running"
        assert here[-1].startswith("running in pool")  # not run again here
        slow = pool.submit(work, "slow", pause=0.2)
        while not slow.running():
            time.sleep(0.01)
        taken_back(slow)  # running: waited for, so it does not run on past its caller
        assert slow.done() and not slow.cancelled()
    assert not any(h.startswith("dropped") for h in here)
