"""Checks that turn bad parameters into one-line InputErrors before anything runs or is written."""

import math
import numbers
import warnings

from .errors import InputError


def finite(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def positive(name, value):
    value = finite(name, value)
    if value <= 0:
        raise InputError(f"{name} must be positive, got {value!r}")
    return value


def fraction(name, value):
    value = finite(name, value)
    if not 0.0 < value < 1.0:
        raise InputError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return value


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def nonnegative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def int_choice(name, value, choices):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return int(value)


def seed(value):
    value = nonnegative_int("seed", value)
    if value >= 2**63:
        raise InputError(f"seed must be below 2**63, got {value}")
    return value


def well_range(value):
    value = positive("well_range", value)
    if value <= 1.0:
        warnings.warn(
            f"well_range = {value} <= 1: non-overlapping cubes are always at least 1 "
            "apart, so the well can never be reached",
            UserWarning,
            stacklevel=3,
        )
    return value
