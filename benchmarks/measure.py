"""Measuring one case: median wall time, peak extra memory, mean CIEDE2000 and PSNR.

Time is the median of ``repeat`` calls timed with `time.perf_counter`. Memory is measured in a
fresh process per case because the peers allocate in C (tracemalloc sees none of that): the child
loads the image and imports every method first, resets the kernel's peak-RSS mark, runs the
case, and reports the peak RSS minus the RSS it had before the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import statistics
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Above this many pixels, mean CIEDE2000 is estimated from this many (seeded) pixels.
DE_MAX_PIXELS = 2_000_000


@dataclass
class Result:
    """What one (image, method, k) case measured.

    Attributes
    ----------
    image, method : str
        Keys of `images.LOADERS` and `peers.PEERS`.
    k : int
    seconds : float
        Median wall time of the calls.
    runs : int
        Number of timed calls.
    delta_e : float
        Mean CIEDE2000 against the original (estimated on big images, see `DE_MAX_PIXELS`).
    psnr : float
        PSNR over the colour channels, in dB.
    n_colors : int
        Distinct colours in the result.
    peak_mb : float or None
        Peak extra resident memory in MB (1e6 bytes); None when measured in-process.
    error : str or None
        The failure, when the method raised or the child died.
    """

    image: str
    method: str
    k: int
    seconds: float = float("nan")
    runs: int = 0
    delta_e: float = float("nan")
    psnr: float = float("nan")
    n_colors: int = 0
    peak_mb: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last call's return value."""
    times = []
    out: object = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        # Drop the previous result before the next call so two never live at once.
        if len(times) < repeat:
            out = None
    return statistics.median(times), out


#: Copies timed for the yardstick: single 24 MP copies vary from 6 to 50 ms on a shared machine.
COPY_REPEAT = 21


def copy_time(pixels: np.ndarray, repeat: int = COPY_REPEAT) -> float:
    """Median time of ``pixels.copy()``: the issue's yardstick for the 24 MP target.

    The first copy (page faults into fresh memory, ~0.3 s) is not timed.
    """
    pixels.copy()
    return median_time(pixels.copy, repeat)[0]


def psnr(original: np.ndarray, quantized: np.ndarray) -> float:
    """PSNR like `kquant_gui.engine.metrics.psnr`, in row blocks so 24 MP needs no GB of floats."""
    sse = 0.0
    n = 0
    step = max(1, (1 << 22) // max(1, original.shape[1] * 3))
    for r in range(0, original.shape[0], step):
        a = original[r : r + step, :, :3].astype(np.int32)
        b = quantized[r : r + step, :, :3].astype(np.int32)
        d = (a - b).ravel()
        sse += float(np.dot(d, d))
        n += d.size
    mse = sse / n
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def quality(original: np.ndarray, quantized: np.ndarray) -> tuple[float, float, int]:
    """Mean CIEDE2000, PSNR and distinct colours of a result."""
    from kquant_gui.engine.metrics import mean_delta_e2000

    de = mean_delta_e2000(original, quantized, max_pixels=DE_MAX_PIXELS)
    rgb = quantized.reshape(-1, quantized.shape[-1])[:, :3].astype(np.uint32)
    n = int(np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).size)
    return de, psnr(original, quantized), n


def measure(pixels: np.ndarray, image: str, method: str, k: int, repeat: int) -> Result:
    """Time and score one case in this process (no memory figure).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3)
    image, method : str
        Names for the result; ``method`` must be a key of `peers.PEERS`.
    k : int
    repeat : int
        Timed calls; slow peers are called once whatever this says.
    """
    from .peers import PEERS

    peer = PEERS[method]
    runs = 1 if peer.slow else max(1, repeat)
    res = Result(image, method, k, runs=runs)
    try:
        res.seconds, out = median_time(lambda: peer.run(pixels, k), runs)
        res.delta_e, res.psnr, res.n_colors = quality(pixels, out)  # type: ignore[arg-type]
    except Exception as exc:  # a failing peer is a table cell, not a crashed bench
        res.error = f"{type(exc).__name__}: {exc}"
    return res


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    # Linux: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


def _rss_now_kb() -> int:
    now = _status_kb("VmRSS")
    if now is not None:
        return now
    import psutil

    return psutil.Process().memory_info().rss // 1024


def _peak_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def warm_up(methods: Sequence[str] | None = None) -> None:
    """Import the methods' modules and run each once on a tiny image.

    So first-call costs (imports, lazy tables, thread pools) are neither timed nor counted as
    the case's memory. A method that fails here is left alone: its own case will report it.

    Parameters
    ----------
    methods : sequence of str, optional
        Keys of `peers.PEERS`; default all.
    """
    from .peers import PEERS

    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)  # >= the gallery sample
    for name in methods or list(PEERS):
        with contextlib.suppress(Exception):
            PEERS[name].run(px, 4)


def _child(conn: mp.connection.Connection, image: str, method: str, k: int, repeat: int) -> None:
    try:
        from . import images
        from .peers import PEERS

        pixels = images.load(image)
        warm_up([method])
        peer = PEERS[method]
        runs = 1 if peer.slow else max(1, repeat)
        hwm = _reset_peak()
        base = _rss_now_kb()
        peak_before = _peak_kb()
        seconds, out = median_time(lambda: peer.run(pixels, k), runs)
        # Without a resettable mark the lifetime peak may predate the run: an upper bound.
        peak = (_status_kb("VmHWM") or 0) if hwm else max(_peak_kb(), peak_before)
        res = Result(image, method, k, seconds=seconds, runs=runs)
        res.peak_mb = max(0, peak - base) * 1024 / 1e6
        res.delta_e, res.psnr, res.n_colors = quality(pixels, out)  # type: ignore[arg-type]
        conn.send(res.to_dict())
    except BaseException as exc:
        # Where it failed, in one line: the table cell has no room for a whole traceback.
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        conn.send({"error": f"{type(exc).__name__}: {exc}{where}"})
    finally:
        conn.close()


def measure_isolated(
    image: str, method: str, k: int, repeat: int, *, timeout: float = 1800.0
) -> Result:
    """Time, score and measure the memory of one case in a fresh (spawned) process.

    Parameters
    ----------
    image : str
        Key of `images.LOADERS`; the child loads its own copy.
    method : str
        Key of `peers.PEERS`.
    k, repeat : int
    timeout : float
        Seconds before the child is killed and the case reported as failed.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, image, method, k, repeat), daemon=True)
    proc.start()
    child.close()
    res = Result(image, method, k)
    try:
        if parent.poll(timeout):
            data = parent.recv()
            if "error" in data and len(data) == 1:
                res.error = str(data["error"])
            else:
                res = Result(**data)
        else:
            res.error = f"timed out after {timeout:.0f} s"
    except EOFError:
        res.error = "the measuring process died"
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
    if res.error is None and proc.exitcode not in (0, None):
        res.error = f"the measuring process exited with {proc.exitcode}"
    return res


def cpu_info() -> str:
    """A one-line description of the machine for the report header."""
    import platform

    n = os.cpu_count()
    try:
        load = os.getloadavg()[0]
        load_s = f", load {load:.1f}"
    except OSError:
        load_s = ""
    return f"{platform.processor() or platform.machine()}, {n} logical CPUs{load_s}"
