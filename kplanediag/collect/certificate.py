"""The API server's serving certificate, read from the DER bytes the TLS handshake delivered: its
validity, subject and issuer common names and DNS names. A small DER walker (X.509's fixed layout)
rather than a dependency; a certificate it cannot read is None, never an error of the run."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from kplanediag.snapshot.server import Certificate

_SEQUENCE, _SET, _OID, _UTC_TIME, _GENERALIZED_TIME, _OCTETS = 0x30, 0x31, 0x06, 0x17, 0x18, 0x04
_VERSION, _EXTENSIONS = 0xA0, 0xA3
_COMMON_NAME = bytes([0x55, 0x04, 0x03])  # 2.5.4.3
_SUBJECT_ALT_NAME = bytes([0x55, 0x1D, 0x11])  # 2.5.29.17
_DNS_NAME, _IP_ADDRESS = 0x82, 0x87


class _BadDER(ValueError):
    pass


def _element(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, contents, position after) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise _BadDER("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or pos + count > len(data):
            raise _BadDER("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise _BadDER("truncated")
    return tag, data[pos : pos + length], pos + length


def _children(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        tag, contents, pos = _element(data, pos)
        out.append((tag, contents))
    return out


def _time(tag: int, contents: bytes) -> datetime:
    text = contents.decode("ascii")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280: 50-99 are 19xx
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise _BadDER("not a time")
    return datetime.strptime(text.rstrip("Z"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _common_name(name: bytes) -> str:
    for tag, rdn in _children(name):
        if tag != _SET:
            continue
        for _, attribute in _children(rdn):
            parts = _children(attribute)
            if len(parts) == 2 and parts[0] == (_OID, _COMMON_NAME):
                return parts[1][1].decode("utf-8", errors="replace")
    return ""


def _alt_names(extensions: bytes) -> tuple[str, ...]:
    names: list[str] = []
    (_, sequence), *_ = _children(extensions)
    for _, extension in _children(sequence):
        parts = _children(extension)
        if parts and parts[0] == (_OID, _SUBJECT_ALT_NAME) and parts[-1][0] == _OCTETS:
            (_, general_names), *_ = _children(parts[-1][1])
            for tag, value in _children(general_names):
                if tag == _DNS_NAME:
                    names.append(value.decode("ascii", errors="replace"))
                elif tag == _IP_ADDRESS and len(value) in (4, 16):
                    names.append(str(ipaddress.ip_address(value)))
    return tuple(names)


def parse_certificate(der: bytes) -> Certificate | None:
    """The fields kplanediag reads of one DER certificate; None if it is not one."""
    try:
        _, certificate, _ = _element(der, 0)
        (tag, tbs), *_ = _children(certificate)
        if tag != _SEQUENCE:
            return None
        fields = _children(tbs)
        if fields and fields[0][0] == _VERSION:
            fields = fields[1:]
        # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, then optional parts
        issuer, validity, subject = fields[2][1], fields[3][1], fields[4][1]
        (before_tag, before), (after_tag, after) = _children(validity)[:2]
        extensions = next((c for t, c in fields[6:] if t == _EXTENSIONS), b"")
        return Certificate(
            subject=_common_name(subject),
            issuer=_common_name(issuer),
            not_before=_time(before_tag, before),
            not_after=_time(after_tag, after),
            dns_names=_alt_names(extensions) if extensions else (),
        )
    except (_BadDER, ValueError, IndexError, UnicodeDecodeError):
        return None
