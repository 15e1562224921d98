"""How long a watch cache may be silent: the timing of its watches, when it is stale (said on /readyz
and in the metrics) and when a check stops reading it (and lists that kind itself)."""

from __future__ import annotations

# Each watch asks the server to end it after WATCH_SECONDS (+0-10% so that they do not all end at
# once); the server sends a bookmark just before, so a healthy watch brings word at least that
# often, whatever changes. No word for STALE_AFTER: the watch is stalled, its cache marked stale
# and the connection dropped and made again. A failed request is retried after BACKOFF seconds,
# doubled each time up to MAX_BACKOFF.
# A watch of heartbeats (the registry's Leases) is not read after a much shorter silence: READ_AFTER,
# or QUIET_GAPS times its usual gap between changes, whichever is longer (capped by STALE_AFTER): the
# node Leases' watch hears from every kubelet every 10 s, so a stall is not read past 15 s (their old
# renewTimes would be judged as dead nodes); the check lists those Leases itself meanwhile. Any other
# kind may be quiet for long (no pod changes in a minute is no stall): it is read until STALE_AFTER,
# where listing it afresh (120 MB at 30,000 pods) is not done on a lull.
WATCH_SECONDS = 60
STALE_AFTER = 90.0
READ_AFTER = 15.0
QUIET_GAPS = 4
BACKOFF = 1.0
MAX_BACKOFF = 30.0
STREAMING = (1, 32)  # WatchList (sendInitialEvents) is on by default from this version; tried, never trusted
INITIAL_SECONDS = 300  # a streaming list's watch: its initial events must all come within it
NOT_SERVED = 300.0  # an optional API the server does not serve (404) is looked for again after this


def stale(silent: float | None, failing: bool) -> bool:
    """No word for STALE_AFTER (or never), or its last request failed."""
    return failing or silent is None or silent > STALE_AFTER


def readable(silent: float | None, gap: float | None, heartbeats: bool = True) -> bool:
    """Heard from within its reading window: for heartbeats READ_AFTER or QUIET_GAPS usual gaps, at most
    STALE_AFTER; for any other kind STALE_AFTER."""
    window = min(STALE_AFTER, max(READ_AFTER, QUIET_GAPS * (gap or 0.0))) if heartbeats else STALE_AFTER
    return silent is not None and silent <= window
