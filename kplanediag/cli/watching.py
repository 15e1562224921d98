"""A live Source whose checks read the lists through watch caches kept between them (serve, and watch
and wait past their first check): the API server sends what changed, not the whole cluster again."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kplanediag.cli.options import Source

if TYPE_CHECKING:
    from kplanediag.collect.transport import Transport


def watching(source: Source) -> Source:
    """``source`` with a watch cache; a saved input or a fleet is returned as it is."""
    if source.from_file is not None or source.fleet or source.cache is not None:
        return source
    from kplanediag.collect.watch.cache import Cache  # noqa: PLC0415 (loads collect)

    def transport() -> Transport:
        """The watches' own connection: no run deadline; made again when its credentials expire."""
        from kplanediag.collect.impersonation import Impersonation  # noqa: PLC0415
        from kplanediag.collect.transport import connect  # noqa: PLC0415

        impersonate = Impersonation(source.as_user, source.as_groups, source.as_uid)
        return connect(source.kubeconfig, source.context, source.request_timeout, None, impersonate)

    return replace(source, cache=Cache(transport))
