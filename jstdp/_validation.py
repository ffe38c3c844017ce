"""The one place where jstdp checks what it is given.

Two tiers, as in equinox. A value known now (a Python number, a NumPy or a
concrete JAX array) is checked now, and a bad one raises a Python exception
that names it. A traced value (inside ``jit``, ``vmap`` or ``scan``) becomes a
:func:`jax.experimental.checkify.debug_check`, which costs nothing and does
nothing unless the function runs under ``checkify.checkify``::

    from jax.experimental import checkify

    err, w = checkify.checkify(jax.jit(train))(w0)
    err.throw()   # JaxRuntimeError naming the first failed check, if any

Objects check themselves when they are made (``__post_init__`` of a
:func:`jstdp._pytree.pytree` class calls :func:`check_fields`): the
``checks`` class attribute lists what is never meaningful (a negative time
constant, ``w_min >= w_max``); every numeric field must also be finite.
:func:`validate_parameters` adds the ``strict`` checks (e.g. learning rates
``>= 0``) and, given ``dt``, that explicit Euler updates do not overshoot.
Arguments of functions are checked by the small helpers below, so the same
mistake gets the same message everywhere.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jax.typing import ArrayLike

T = TypeVar("T")

# (fields, predicate(*values) -> bool array, requirement on the first field).
# The predicates use only operators, so they run on NumPy values and tracers.
Check = tuple[tuple[str, ...], Callable[..., Any], str]


def positive(*names: str) -> tuple[Check, ...]:
    return tuple(((n,), lambda x: x > 0, "be > 0") for n in names)


def non_negative(*names: str) -> tuple[Check, ...]:
    return tuple(((n,), lambda x: x >= 0, "be >= 0") for n in names)


def less(lower: str, upper: str) -> Check:
    return ((lower, upper), lambda lo, hi: lo < hi, f"be < {upper}")


# --- plain arguments --------------------------------------------------------


def integer(
    name: str, value: object, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as a Python int (NumPy integers accepted, bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value}")
    return value


def ensure(name: str, ok: bool, got: object, want: str) -> None:
    """Raise ``ValueError("<name> must be <want>, got <got>")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {want}, got {got!r}")


def number(
    name: str,
    value: object,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    """``value`` as a float: a finite real number within the given bounds."""
    bounds = [
        f"{op} {b:g}"
        for op, b in ((">", above), (">=", at_least), ("<=", at_most))
        if b is not None
    ]
    want = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and np.isfinite(float(value))
    )
    if ok:
        x = float(value)
        ok = (
            (above is None or x > above)
            and (at_least is None or x >= at_least)
            and (at_most is None or x <= at_most)
        )
    if not ok:
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return float(value)


def optional_integer(name: str, value: object, minimum: int = 1) -> int | None:
    return None if value is None else integer(name, value, minimum)


def flag(name: str, value: object) -> bool:
    """``value`` as a bool; truthy strings, ints and arrays are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r}")
    return bool(value)


def choice(name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def name_string(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value


def instance(name: str, value: object, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        want = " or ".join(f"jstdp.{k.__name__}" for k in kinds)
        raise TypeError(f"{name} must be {want}, got {type(value).__name__}")
    return value


def prng_key(name: str, key: object) -> Any:
    """``key`` if it is a ``jax.random`` key (typed, or raw ``uint32[2]``)."""
    dtype = getattr(key, "dtype", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype == np.uint32 and np.shape(key)[-1:] == (2,)
    if not (typed or raw):
        raise TypeError(
            f"{name} must be a jax.random key (jax.random.key(seed)), got {key!r}"
        )
    return key


def concrete(x: object) -> np.ndarray | None:
    """``x`` as a float64 NumPy array when its value is known now, else None."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def real(name: str, x: object) -> np.ndarray:
    """A concrete value as float64 NumPy, or a TypeError naming ``name``."""
    a = np.asarray(x)
    if a.dtype == bool or not jnp.issubdtype(a.dtype, jnp.number):
        raise TypeError(f"{name} must be a real number or array, got {x!r}")
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got {a.dtype} value {x!r}")
    return a.astype(np.float64)


def time_step(dt: object, name: str = "dt") -> Any:
    """Check a time step: a real scalar, positive and finite when concrete."""
    if isinstance(dt, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {dt!r}")
    if np.ndim(dt) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(dt)}")
    if isinstance(dt, jax.core.Tracer):
        return dt
    value = real(name, dt)
    if not value > 0:  # NaN too
        raise ValueError(f"{name} must be positive, got {dt!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {dt!r}")
    return dt


def spikes(name: str, z: ArrayLike) -> jax.Array:
    """Spikes as an array: bool, int or real floats (graded values allowed)."""
    dtype = getattr(z, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(z).dtype
        except (TypeError, ValueError):
            dtype = None
    if dtype is None or not (
        jnp.issubdtype(dtype, jnp.bool_)
        or jnp.issubdtype(dtype, jnp.integer)
        or jnp.issubdtype(dtype, jnp.floating)
    ):
        raise TypeError(
            f"{name} must be spikes as a bool, int or real float array, got "
            f"{'a ' + type(z).__name__ if dtype is None else dtype}"
        )
    return jnp.asarray(z)


def neuron(name: str, value: object) -> None:
    """A TypeError unless ``value`` has the neuron protocol's two methods."""
    for method in ("initial_state", "step"):
        if not callable(getattr(value, method, None)):
            raise TypeError(
                f"{name} must have .initial_state(shape, dtype) and "
                f".step(drive, state, dt); {type(value).__name__} has no {method}"
            )


def floating_array(name: str, x: ArrayLike) -> jax.Array:
    """``x`` as an array, or a TypeError unless its dtype is floating."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    return x


def floating_dtype(name: str, dtype: object) -> jnp.dtype:
    try:
        dtype = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must be a floating dtype, got {dtype}")
    return dtype


# --- field values: the two tiers --------------------------------------------


def _describe(a: np.ndarray, bad: np.ndarray) -> str:
    """``a``'s value, or its first bad entry when ``a`` is an array."""
    if bad.ndim == 0:
        return f"{a.item():g}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{a[index]:g} at index {index} of shape {a.shape}"


def require(
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
    arrays = {k: real(prefix + k, v) for k, v in values.items()}
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


def _finite(x):
    """False for NaN and +-inf, on NumPy values and tracers alike."""
    return abs(x) < np.inf


def _run_checks(obj: Any, checks: Sequence[Check], label: str) -> None:
    for (first, *others), predicate, requirement in checks:
        values = {f: getattr(obj, f) for f in (first, *others)}
        if any(v is None for v in values.values()):
            continue  # an optional field left out
        require(f"{label}.{first}", values, predicate, requirement, label + ".")


def check_fields(obj: Any, label: str | None = None) -> None:
    """Construction-time checks of a parameter object (``__post_init__``).

    Every leaf must be finite, and every check of the class's ``checks``
    attribute must hold (elementwise for arrays, e.g. a stacked sweep).
    """
    label = type(obj).__name__ if label is None else label
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if getattr(obj, f.name) is None and f.default is not None:
                raise TypeError(
                    f"{label}.{f.name} must be a real number or array, got None"
                )
    for path, leaf in jax.tree_util.tree_flatten_with_path(obj)[0]:
        field = f"{label}{jax.tree_util.keystr(path)}"
        require(field, {field: leaf}, _finite, "be finite")
    _run_checks(obj, getattr(type(obj), "checks", ()), label)


def validate_parameters(p: T, dt: ArrayLike | None = None) -> T:
    """Check every numeric constraint of a parameter pytree; return it unchanged.

    Stricter than what objects check when they are made (which only rejects
    what is never meaningful): every numeric field must be finite, the class's
    ``checks`` and ``strict`` constraints must hold (e.g. for
    ``STDPParameters``: ``w_min < w_max``, ``tau_pre_inv > 0``,
    ``tau_post_inv > 0``, ``eta_plus >= 0``, ``eta_minus >= 0``, ``a_pre >=
    0``, ``a_post >= 0``, ``mu >= 0``; for ``LIFParameters``: ``tau_syn_inv >
    0``, ``tau_mem_inv > 0``, ``v_reset < v_th``), and with ``dt``: ``dt`` is
    finite and positive and ``dt * rate < 1`` for every inverse time constant
    that an explicit Euler step uses (the class's ``rates``), else the step
    overshoots. Stacked (swept) fields are checked elementwise. Any other
    pytree (your own neuron) gets the finiteness check only.

    Concrete values raise now; traced values (under ``jit``, ``vmap``) become
    ``checkify`` checks that run only under ``checkify.checkify``.

    Args:
        p: a jstdp parameter object or any pytree of numbers.
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
    check_fields(p, label)
    _run_checks(p, getattr(kind, "strict", ()), label)
    if dt is not None:
        time_step(dt)
        if isinstance(dt, jax.core.Tracer):
            require(
                "dt",
                {"dt": dt},
                lambda x: (x > 0) & _finite(x),
                "be positive and finite",
            )
        for rate in getattr(kind, "rates", ()):
            if getattr(p, rate) is None:
                continue
            require(
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
        tree: any pytree (weights, an ``STDPState``, a ``NetworkState``...).
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


def cast_parameters(p: T, dtype: jax.typing.DTypeLike) -> T:
    """``p`` with every leaf an array of ``dtype``: parameters are real numbers.

    Used at the top of every step and run, so NumPy float64 parameters cannot
    promote float32 weights (the ``lax.scan`` carry-dtype trap). Python and
    NumPy numbers become NumPy arrays (no device dispatch per leaf and call:
    the run functions pass them to a jitted function anyway).
    """

    def cast(x: Any) -> Any:
        if isinstance(x, (bool, int, float, np.ndarray, np.generic)):
            return np.asarray(x, dtype)
        return jnp.asarray(x, dtype)

    return jax.tree.map(cast, p)


def cast_floats(tree: Any, dtype: jax.typing.DTypeLike) -> Any:
    """``tree`` with its floating leaves (and Python floats) cast to ``dtype``;
    integer and bool leaves (counters, spikes) keep their dtype."""
    return jax.tree.map(
        lambda x: (
            jnp.asarray(x, dtype)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
            else x
        ),
        tree,
    )
