"""Progress display: a tqdm bar on a terminal, one plain log line per checkpoint otherwise."""

from __future__ import annotations

import math
import sys
import time


class StageProgress:
    """Report progress of one stage from ``start`` to ``target`` sweeps.

    ``interactive=None`` picks a tqdm bar when stderr is a terminal and log lines otherwise
    (batch jobs, pipes), so cluster logs stay readable.
    """

    def __init__(
        self,
        label: str,
        start: int,
        target: int,
        total: int | None = None,
        done_before: int = 0,
        interactive: bool | None = None,
        stream=None,
    ):
        self.label = label
        self.start = start
        self.target = target
        self.total = total if total is not None else target - start
        self.done_before = done_before
        self.stream = stream if stream is not None else sys.stderr
        if interactive is None:
            interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interactive = interactive
        self._t0 = time.perf_counter()
        self._last = start
        self._bar = None
        if self.interactive:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=done_before,
                desc=label,
                unit="sweep",
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
            )
        else:
            self.log(
                f"{label}: sweep {done_before}/{self.total}"
                + (" (resuming from checkpoint)" if done_before else "")
            )

    def log(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(f"[cubemc {time.strftime('%H:%M:%S')}] {message}", file=self.stream, flush=True)

    def update(self, sweep: int, extra: str = "") -> None:
        done = self.done_before + (sweep - self.start)
        if self._bar is not None:
            self._bar.update(sweep - self._last)
            if extra:
                self._bar.set_postfix_str(extra, refresh=False)
        else:
            elapsed = time.perf_counter() - self._t0
            rate = (sweep - self.start) / elapsed if elapsed > 0 else float("nan")
            left = (self.target - sweep) / rate if math.isfinite(rate) and rate > 0 else float("nan")
            pct = 100.0 * done / self.total if self.total else 100.0
            text = f"{self.label}: sweep {done}/{self.total} ({pct:.1f}%), {rate:.1f} sweeps/s"
            if math.isfinite(left):
                text += f", about {left:.0f} s left"
            if extra:
                text += f", {extra}"
            self.log(text)
        self._last = sweep

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def log(message: str, stream=None) -> None:
    """One timestamped line on stderr (for steps without a progress bar)."""
    stream = stream if stream is not None else sys.stderr
    print(f"[cubemc {time.strftime('%H:%M:%S')}] {message}", file=stream, flush=True)
