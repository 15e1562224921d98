"""Kubernetes resource quantities (``8Gi``, ``500M``, ``250m``), read as the official client's
``kubernetes.utils.parse_quantity`` reads them (a unit test compares the two) without importing it."""

from __future__ import annotations

from decimal import Decimal, DecimalException, InvalidOperation

_EXPONENTS = {"n": -3, "u": -2, "m": -1, "K": 1, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_BINARY = "KMGTPE"  # Ki Mi Gi Ti Pi Ei; "mi" or "ki" is no suffix


def parse_quantity(text: str) -> Decimal:
    """``8Gi`` -> 8589934592, ``500M`` -> 500000000, ``250m`` -> 0.25 (``m`` is milli: ``M`` is
    mega); ValueError for anything else, with the official client's words."""
    number, suffix = text, ""
    if len(text) >= 2 and text[-1] == "i" and text[-2] in _EXPONENTS:
        number, suffix = text[:-2], text[-2:]
    elif text[-1:] in _EXPONENTS:
        number, suffix = text[:-1], text[-1:]
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"Invalid number format: {number}") from None
    if not suffix:
        return value
    if len(suffix) == 2 and suffix[0] not in _BINARY:
        raise ValueError(f"{text} has unknown suffix")
    base = 1024 if len(suffix) == 2 else 1000
    try:
        return value * (base ** Decimal(_EXPONENTS[suffix[0]]))
    except DecimalException as exc:
        raise ValueError(f"Invalid quantity: {text}") from exc
