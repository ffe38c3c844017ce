"""What the connections share: full-precision contractions, conv geometry pairs."""

from __future__ import annotations

import numbers

import jax

# Accelerators otherwise round float32 contractions to TF32/bfloat16.
HIGHEST = jax.lax.Precision.HIGHEST


def pair(name: str, value: object, minimum: int) -> tuple[int, int]:
    """Normalise an int-or-pair geometry value to a hashable ``(h, w)`` tuple."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        # NumPy integers are accepted (as torch accepts them); bools are not.
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            raise ValueError(
                f"{name} must be an int >= {minimum} or a pair of such ints, "
                f"got {value!r}"
            )
    return int(pair[0]), int(pair[1])


def check_weight_shape(
    name: str, got: tuple[int, ...], want: tuple[int, ...], scalar: bool = False
) -> None:
    """Raise a ValueError unless ``got == want`` (or ``()`` where allowed)."""
    if tuple(got) == tuple(want) or (scalar and tuple(got) == ()):
        return
    alt = " or () (one weight for every synapse)" if scalar else ""
    raise ValueError(f"{name} must have shape {tuple(want)}{alt}, got {tuple(got)}")
