"""Option values parsed by click callbacks: durations and sizes."""

from __future__ import annotations

import click


def duration(ctx: click.Context | None, param: click.Parameter | None, value: str | float) -> float:
    """A duration as kubectl takes it (Go's form, parsed by durationpy: ``5s``, ``1m30s``,
    ``500ms``, ``1h``; a bare number is seconds): seconds between 0.1 and a day."""
    import math  # noqa: PLC0415

    text = str(value).strip()
    try:
        seconds = float(text)  # a bare number: seconds, as kubectl's --request-timeout takes it
    except ValueError:
        import durationpy  # noqa: PLC0415 (only where a duration is given)

        try:
            seconds = durationpy.from_str(text).total_seconds()
        except (durationpy.DurationError, ValueError, OverflowError):
            seconds = math.nan
    if not (0.1 <= seconds <= 86400):  # also False for nan and inf
        raise click.BadParameter(f"{text!r} is not a duration between 0.1s and 24h (e.g. 5s, 1m30s, 500ms, or seconds)")
    return seconds


def input_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """--max-input's size (``512Mi``, ``2Gi``, bytes)."""
    if value is None:
        return None
    from kplanediag.snapshot.limits import LimitError, parse_size  # noqa: PLC0415

    try:
        return parse_size(value)
    except LimitError as exc:
        raise click.BadParameter(str(exc)) from exc


def byte_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``8Gi``, ``2147483648``, ``500M``: a positive whole number of bytes as a Kubernetes quantity
    (snapshot/quantity.py: ``m`` is milli, so ``500m`` is half a byte and refused)."""
    if value is None:
        return None
    from decimal import Decimal  # noqa: PLC0415

    from kplanediag.snapshot.quantity import parse_quantity  # noqa: PLC0415

    try:
        number = parse_quantity(value.strip())
    except ValueError:
        number = Decimal(-1)
    if not (number.is_finite() and 0 < number < 2**60 and number == number.to_integral_value()):
        raise click.BadParameter(
            f"{value!r} is not a size in bytes as a Kubernetes quantity (e.g. 8Gi, 500M, 2147483648; m is milli)"
        )
    return int(number)
