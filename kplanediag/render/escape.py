"""Text a cluster wrote (names, messages, events), made safe for where it goes: one function per
destination (terminal, markdown, XML, HTML, Prometheus label values), applied by each renderer
where its text leaves it. Unsafe characters become visible escapes (``\\x1b``, ``\\u202e``)."""

from __future__ import annotations

import re
from html import escape as _html_escape

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidi marks, embeddings, overrides and isolates: they reorder what a reader sees (Trojan Source)."""
_LINES = "\u2028\u2029"  # line and paragraph separators: line breaks the layout did not put there
_SURROGATES = "\ud800-\udfff"  # lone halves of a pair: no encoding can write them
_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_LINES}{_SURROGATES}]")
"""C0 controls but tab and newline (which layouts use), DEL, C1 controls (ESC, CSI, OSC, BEL, NUL
among them), bidi controls, separators: what a terminal would act on or show other than written."""
_BREAKS = re.compile("\r\n|[\t-\r\x85\u2028\u2029]")
"""Line breaks and tabs of every kind: a space in text that must stay on one line."""
_XML = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_LINES}{_SURROGATES}\ufffe\uffff]")
"""What XML 1.0 forbids (C0 but tab, LF, CR; surrogates; U+FFFE, U+FFFF) and what it discourages
(DEL, C1), with the bidi controls: a JUnit report stays well-formed and reads as written."""
_MARKDOWN = re.compile(r"[\\`*_\[\]|~#]")
"""Markdown syntax a cluster's text could use: links and images (``[``, ``]``), emphasis, code
spans, tables' pipes, headings; escaped with a backslash (CommonMark escapes ASCII punctuation)."""


def visible(ch: str) -> str:
    """``\\x1b`` for a character below U+0100, ``\\u202e`` above."""
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _visible(match: re.Match[str]) -> str:
    return visible(match.group())


def terminal(text: str) -> str:
    """For a terminal, whatever ``--color`` says: every control character but newline and tab
    (which the layout adds), escape sequence and bidi control shown as a visible escape."""
    return _TERMINAL.sub(_visible, text)


def one_line(text: str) -> str:
    """For one line of a layout (a table cell, a list item): every line break or tab a space,
    then as ``terminal``."""
    return terminal(_BREAKS.sub(" ", text))


def xml(text: str) -> str:
    """For an XML 1.0 document, applied to the serialized document (the markup never holds these
    characters, so only text and attribute values change): forbidden and discouraged characters
    shown as visible escapes, so that any parser reads it."""
    return _XML.sub(_visible, text)


def unsafe(text: str) -> bool:
    """Whether ``text`` holds a character ``terminal`` would escape."""
    return _TERMINAL.search(text) is not None


def yaml_escapes(dumped: str) -> str:
    """For a YAML document whose every string holding such a character was emitted double-quoted
    (where ``\\u202e`` is the same character, escaped): those the emitter left raw (bidi controls,
    which it deems printable) as escapes; the values a parser reads are unchanged."""
    return _TERMINAL.sub(_visible, dumped)


def markdown(text: str) -> str:
    """For inline markdown (a table cell, a list item): HTML as entities (no tag, no autolink),
    link, image, emphasis and table syntax escaped, every line break a space (a CR or LF never
    splits a row), other controls as visible escapes."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return one_line(_MARKDOWN.sub(r"\\\g<0>", text))


def html(text: object) -> str:
    """For HTML text and quoted attribute values: ``&<>"'`` as references, controls and bidi
    controls as visible escapes."""
    return _html_escape(terminal(str(text).replace("\r", "\n")), quote=True)


def label(text: str) -> str:
    """A Prometheus label value: controls and bidi controls as visible escapes; the exposition's
    own escaping (backslash, double quote, newline) is prometheus_client's, after this."""
    return terminal(text)
