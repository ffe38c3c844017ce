"""An XLA option for closed loops on CPU, opt-in and process-wide.

XLA:CPU runs a while loop as a sequence of separately dispatched kernels
unless the bytes the loop touches are below
``xla_cpu_small_while_loop_byte_threshold`` (1 kB by default); then it
compiles the whole loop into one kernel. A closed loop with small state (one
neuron and its inputs, a handful of populations) is exactly such a loop, and
one kernel removes a dispatch per operation per step. The results are the
same numbers (checked by ``tests/test_xla.py``); the option changes how the
loop is run, not what it computes.

The threshold is a backend option read once, when JAX starts its CPU
backend, so it must be set before the first computation of the process and
applies to every loop of the process. 1 MiB keeps large loops (dense layers,
convolutions) on XLA's library kernels: much larger thresholds make them
far slower (``benchmarks/closed_loop/README.md``).
"""

from __future__ import annotations

import os

SMALL_LOOP_OPTION = "xla_cpu_small_while_loop_byte_threshold"
SMALL_LOOP_BYTES = 1 << 20
_FLAG = "--xla_backend_extra_options="


def fast_cpu_loops(threshold: int = SMALL_LOOP_BYTES) -> bool:
    """Compile small CPU while loops into one kernel each (opt-in).

    Adds ``xla_cpu_small_while_loop_byte_threshold=threshold`` to
    ``XLA_FLAGS`` when JAX has not computed anything yet in this process
    (``jstdp song2000`` and ``benchmarks/run.py`` call it first thing).
    A value you set yourself in ``XLA_FLAGS`` is kept.

    Args:
        threshold: loops touching fewer bytes than this become one kernel.

    Returns:
        Whether the option is in effect for this process: True when it was
        set now or before (by you), False when JAX's backend had already
        started without it (then nothing changes).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if SMALL_LOOP_OPTION in flags:
        return True
    if _backend_started():
        return False
    option = f"{SMALL_LOOP_OPTION}={int(threshold)}"
    words = flags.split()
    for k, word in enumerate(words):
        if word.startswith(_FLAG):  # one map of backend options: extend it
            words[k] = f"{word},{option}"
            break
    else:
        words.append(_FLAG + option)
    os.environ["XLA_FLAGS"] = " ".join(words)
    return True


def _backend_started() -> bool:
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()
