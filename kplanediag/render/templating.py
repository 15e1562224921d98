"""The HTML pages' Jinja2 environment (templates/*.html.j2, autoescaping on), built on first use so
that only a run that renders HTML imports Jinja2."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from kplanediag.render.escape import html

if TYPE_CHECKING:
    from jinja2 import Environment

_LAYOUT = re.compile(r"\n[ \t]*")
"""A template's line breaks and the indentation after them: layout of the source, not of the page."""


def _finalize(markup: type[str]) -> Callable[[object], object]:
    """Every ``{{ value }}`` not already ``markup`` escaped by escape.html (``&<>"'`` as references,
    controls and bidi controls visible) and marked safe, so autoescaping does not escape it again."""

    def finalize(value: object) -> object:
        return value if isinstance(value, markup) else markup(html(value))

    return finalize


@cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # noqa: PLC0415
    from jinja2.ext import Extension  # noqa: PLC0415
    from markupsafe import Markup  # noqa: PLC0415

    class Joined(Extension):
        """Each template written on many lines renders as one: a line break and its indentation removed."""

        def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
            return _LAYOUT.sub("", source)

    from kplanediag.analysis.model import Plane  # noqa: PLC0415
    from kplanediag.render import html_parts, html_planes  # noqa: PLC0415

    env = Environment(
        loader=PackageLoader("kplanediag.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=_finalize(Markup),
        undefined=StrictUndefined,
        extensions=[Joined],
        auto_reload=False,
    )
    env.globals.update(html_parts.helpers(), **html_planes.helpers(), CROSS=Plane.CROSS)
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def safe(markup: str) -> object:
    """Markup written by kplanediag itself (the stylesheet), shown as it is."""
    from markupsafe import Markup  # noqa: PLC0415

    return Markup(markup)  # noqa: S704
