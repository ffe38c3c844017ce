"""The machine: description, measured float32 matmul peak and copy bandwidth.

The bound of a workload is the time the machine needs at best for its
arithmetic or for its unavoidable memory traffic, whichever is larger:
``max(flops / peak, bytes / bandwidth)``.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def _best_seconds(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak_gflops(n: int = 2048, reps: int = 5) -> dict[str, float]:
    """Best float32 ``n x n`` matmul rate of JAX (XLA) and torch, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    mm = jax.jit(jnp.matmul)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    flops = 2.0 * n**3
    return {
        "jax": flops
        / _best_seconds(lambda: mm(ja, jb).block_until_ready(), reps)
        / 1e9,
        "torch": flops / _best_seconds(lambda: torch.mm(ta, tb), reps) / 1e9,
    }


def copy_bandwidth_gbs(mib: int = 512, reps: int = 5) -> dict[str, float]:
    """Best rate of reading and writing a large array, GB/s (bytes read + written).

    ``jax``: ``x * c`` in place (the buffer donated), the traffic of an STDP
    step that updates ``w`` in place; ``numpy`` (one thread) and ``torch``
    (all threads): copies into a second buffer, which also reads the
    destination before writing it, so they come out lower. Buffers are
    touched first, so page faults are not timed.
    """
    n = mib * 2**20 // 4
    scale = jax.jit(lambda x: x * 1.0000001, donate_argnums=0)
    x = [scale(jnp.ones(n, np.float32))]

    def in_place():
        x[0] = scale(x[0])
        x[0].block_until_ready()

    src = np.ones(n, np.float32)
    dst = np.zeros(n, np.float32)
    ts, td = torch.from_numpy(src), torch.from_numpy(dst)
    nbytes = 2.0 * src.nbytes
    return {
        "jax": nbytes / _best_seconds(in_place, reps) / 1e9,
        "numpy": nbytes / _best_seconds(lambda: np.copyto(dst, src), reps) / 1e9,
        "torch": nbytes / _best_seconds(lambda: td.copy_(ts), reps) / 1e9,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _isa() -> str:
    try:
        flags = next(
            line.split(":", 1)[1].split()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(f for f in ("avx2", "fma", "avx512f", "amx_bf16") if f in flags)


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe() -> dict[str, object]:
    """CPU, memory, library versions, date and load of this run."""
    import jaxlib
    import norse

    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "isa": _isa(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_backend": jax.default_backend(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "norse": getattr(norse, "__version__", "1.1.0"),
        "jstdp_commit": _git_commit(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
