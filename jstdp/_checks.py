"""Opt-in validation: parameter constraints and finite values.

Two tiers, as in equinox: a value known now (a Python float, a NumPy or a
concrete JAX array) is checked now and a bad one raises a Python exception
that names it; a traced value (inside ``jit``, ``vmap`` or ``scan``) becomes a
:func:`jax.experimental.checkify.debug_check`, which costs nothing and does
nothing unless the function runs under ``checkify.checkify``::

    from jax.experimental import checkify

    err, w = checkify.checkify(jax.jit(train))(w0)
    err.throw()   # JaxRuntimeError naming the first failed check, if any
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jax.typing import ArrayLike

from jstdp._neurons import ConductanceLIFParameters, LIFParameters
from jstdp._parameters import STDPParameters

T = TypeVar("T")

# (fields, predicate(*values) -> bool array, requirement on the first field).
# The predicates use only operators, so they run on NumPy values and tracers.
Constraint = tuple[tuple[str, ...], Callable[..., Any], str]
_POSITIVE = (lambda x: x > 0, "> 0")
_NON_NEGATIVE = (lambda x: x >= 0, ">= 0")


def _finite(x):
    """False for NaN and +-inf, on NumPy values and tracers alike."""
    return abs(x) < np.inf


CONSTRAINTS: dict[type, tuple[Constraint, ...]] = {
    STDPParameters: (
        (("w_min", "w_max"), lambda lo, hi: lo < hi, "< w_max"),
        (("tau_pre_inv",), *_POSITIVE),
        (("tau_post_inv",), *_POSITIVE),
        (("eta_plus",), *_NON_NEGATIVE),
        (("eta_minus",), *_NON_NEGATIVE),
        (("a_pre",), *_NON_NEGATIVE),
        (("a_post",), *_NON_NEGATIVE),
        (("mu",), *_NON_NEGATIVE),
    ),
    LIFParameters: (
        (("tau_syn_inv",), *_POSITIVE),
        (("tau_mem_inv",), *_POSITIVE),
        (("v_reset", "v_th"), lambda r, th: r < th, "< v_th"),
    ),
    ConductanceLIFParameters: (
        (("tau_mem_inv",), *_POSITIVE),
        (("tau_e_inv",), *_POSITIVE),
        (("v_reset", "v_th"), lambda r, th: r < th, "< v_th"),
        (("g_max",), *_NON_NEGATIVE),
    ),
}
# The inverse time constants of explicit Euler updates: dt * rate < 1.
RATES: dict[type, tuple[str, ...]] = {
    STDPParameters: ("tau_pre_inv", "tau_post_inv"),
    LIFParameters: ("tau_syn_inv", "tau_mem_inv"),
    ConductanceLIFParameters: ("tau_mem_inv", "tau_e_inv"),
}


def _real(label: str, x: object) -> np.ndarray:
    """A concrete value as float64 NumPy, or a TypeError naming ``label``."""
    a = np.asarray(x)
    if a.dtype == bool or not jnp.issubdtype(a.dtype, jnp.number):
        raise TypeError(f"{label} must be a real number or array, got {x!r}")
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        raise TypeError(f"{label} must be real, got {a.dtype} value {x!r}")
    return a.astype(np.float64)


def _describe(a: np.ndarray, bad: np.ndarray) -> str:
    """``a``'s value, or its first bad entry when ``a`` is an array."""
    if bad.ndim == 0:
        return f"{a.item():g}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{a[index]:g} at index {index} of shape {a.shape}"


def _require(
    subject: str,
    values: dict[str, Any],
    predicate: Callable[..., Any],
    must: str,
    prefix: str = "",
) -> None:
    """Raise (concrete) or add a checkify check (traced): ``subject must ...``.

    ``predicate`` maps ``values`` (by position) to a bool array; the message
    reads ``"<subject> must <must>, got <name>=<value>, ..."``.
    """
    message = f"{subject} must {must}"
    if any(isinstance(v, jax.core.Tracer) for v in values.values()):
        ok = jnp.all(predicate(*(jnp.asarray(v) for v in values.values())))
        checkify.debug_check(ok, message.replace("{", "{{").replace("}", "}}"))
        return
    arrays = {k: _real(prefix + k, v) for k, v in values.items()}
    try:
        ok = np.asarray(predicate(*arrays.values()))
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as e:  # shapes that do not broadcast together
        raise ValueError(f"{message}: {e}") from None
    ok = np.broadcast_to(ok, shape)
    if not np.all(ok):
        got = [
            f"{k}={_describe(np.broadcast_to(a, shape), ~ok)}"
            for k, a in arrays.items()
        ]
        if len(got) == 1:
            got = [got[0].split("=", 1)[1]]
        raise ValueError(f"{message}, got {', '.join(got)}")


def validate_parameters(p: T, dt: ArrayLike | None = None) -> T:
    """Check every numeric constraint of a parameter pytree; return it unchanged.

    Stricter than the step functions (which only reject what is never
    meaningful): every numeric field must be finite, and

    ============================  ========================================
    ``STDPParameters``            ``w_min < w_max``, ``tau_pre_inv > 0``,
                                  ``tau_post_inv > 0``, ``eta_plus >= 0``,
                                  ``eta_minus >= 0``, ``a_pre >= 0``,
                                  ``a_post >= 0``, ``mu >= 0``
    ``LIFParameters``             ``tau_syn_inv > 0``, ``tau_mem_inv > 0``,
                                  ``v_reset < v_th``
    ``ConductanceLIFParameters``  ``tau_mem_inv > 0``, ``tau_e_inv > 0``,
                                  ``v_reset < v_th``, ``g_max >= 0``
    ============================  ========================================

    With ``dt``: ``dt`` must be finite and positive and ``dt * rate < 1`` for
    every inverse time constant (else the explicit Euler step overshoots).
    Stacked (swept) fields are checked elementwise. Any other pytree (your own
    neuron) gets the finiteness check only.

    Concrete values raise now; traced values (under ``jit``, ``vmap``) become
    ``checkify`` checks that run only under ``checkify.checkify``.

    Args:
        p: ``STDPParameters``, ``LIFParameters``, ``ConductanceLIFParameters``
            or any pytree of numbers.
        dt: optional time step in seconds.

    Returns:
        ``p``, so that ``p = validate_parameters(STDPParameters(...))`` reads
        naturally.

    Raises:
        ValueError: a constraint fails; the message names the field and value.
        TypeError: a numeric field is not a real number or array.

    Example:
        >>> import jstdp
        >>> jstdp.validate_parameters(jstdp.STDPParameters(w_min=1.0, w_max=0.5))
        Traceback (most recent call last):
        ...
        ValueError: STDPParameters.w_min must be < w_max, got w_min=1, w_max=0.5
    """
    kind = type(p)
    label = kind.__name__
    for path, leaf in jax.tree_util.tree_flatten_with_path(p)[0]:
        field = f"{label}{jax.tree_util.keystr(path)}"
        _require(field, {field: leaf}, _finite, "be finite")
    for (first, *others), predicate, requirement in CONSTRAINTS.get(kind, ()):
        values = {f: getattr(p, f) for f in (first, *others)}
        _require(
            f"{label}.{first}", values, predicate, f"be {requirement}", label + "."
        )
    if dt is not None:
        _require("dt", {"dt": dt}, _finite, "be finite")
        _require("dt", {"dt": dt}, lambda x: x > 0, "be > 0")
        for rate in RATES.get(kind, ()):
            _require(
                f"dt * {label}.{rate}",
                {"dt": dt, rate: getattr(p, rate)},
                lambda d, r: d * r < 1,
                "be < 1 (else the explicit Euler step overshoots)",
                label + ".",
            )
    return p


def check_finite(tree: T, name: str = "tree") -> T:
    """Check that every floating leaf of ``tree`` is finite; return ``tree``.

    Eagerly (concrete arrays) a NaN or infinity raises ``FloatingPointError``
    now. Inside a traced function it adds a ``checkify`` check that is free
    and inactive unless the function runs under ``checkify.checkify``, which
    is how you switch it on for jitted code, scans included. Integer, bool and
    non-numeric leaves are ignored.

    ``multiplicative_pow`` with ``hardbound=False`` gives NaN once a weight
    leaves ``[w_min, w_max]`` (fractional ``mu``; as in Norse): this is the
    check to run on the weights.

    Args:
        tree: any pytree (weights, an ``STDPState``, a ``RunState``...).
        name: what to call it in the message; leaves are named by their path
            (``state.stdp.t_pre``).

    Returns:
        ``tree`` unchanged.

    Raises:
        FloatingPointError: (eager) a leaf holds NaN or an infinity.

    Example:
        Switch the check on for jitted code with ``checkify``:

        >>> import jax, jax.numpy as jnp, jstdp
        >>> from jax.experimental import checkify
        >>> p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow",
        ...                          mu=0.5, eta_plus=1.0, hardbound=False)
        >>> z = jnp.ones((1, 2))
        >>> def step(w, s):
        ...     w, s = jstdp.stdp_step_linear(z, z, w, s, p, dt=0.04)
        ...     return jstdp.check_finite(w, "w"), s
        >>> w, s = jnp.full((2, 2), 0.9), jstdp.STDPState.zeros_like(z, z)
        >>> w, s = step(w, s)  # eager and finite, but w = 1.15 > w_max
        >>> err, (w, s) = checkify.checkify(jax.jit(step))(w, s)
        >>> err.get()  # (w_max - w) ** 0.5 is NaN
        'w has non-finite values (`check` failed)'
        >>> step(w, s)
        Traceback (most recent call last):
        ...
        FloatingPointError: w has 4 non-finite values of 4 (first at index (0, 0): nan)
    """
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        label = f"{name}{jax.tree_util.keystr(path)}"
        if isinstance(leaf, jax.core.Tracer):
            if jnp.issubdtype(leaf.dtype, jnp.inexact):
                ok = jnp.all(jnp.isfinite(leaf))
                safe = label.replace("{", "{{").replace("}", "}}")  # a format string
                checkify.debug_check(ok, f"{safe} has non-finite values")
            continue
        a = np.asarray(leaf)
        if not jnp.issubdtype(a.dtype, jnp.inexact):
            continue
        bad = ~np.isfinite(a if a.dtype.kind == "c" else a.astype(np.float64))
        if np.any(bad) and a.ndim == 0:
            raise FloatingPointError(f"{label} is not finite: {a}")
        if np.any(bad):
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise FloatingPointError(
                f"{label} has {int(np.sum(bad))} non-finite values of {a.size} "
                f"(first at index {first}: {a[first]})"
            )
    return tree
