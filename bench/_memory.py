"""Peak resident memory of a benchmark: this process plus its children (Chromium, Playwright's driver).

``resource.getrusage`` only sees this process, which misses Chromium; the benchmarks that drive
a browser sample the whole process tree instead.

    with PeakRSS() as mem:
        run()
    print(mem.peak_bytes / 2**20, "MB")
"""

from __future__ import annotations

import threading

import psutil


class PeakRSS:
    """Polls the RSS of this process and all its descendants every ``interval_s`` seconds."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.peak_bytes = 0
        self.interval_s = interval_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        me = psutil.Process()
        while True:
            total = 0
            for p in (me, *me.children(recursive=True)):
                try:
                    total += p.memory_info().rss
                except psutil.Error:  # a child that just exited
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            if self._done.wait(self.interval_s):
                return

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
