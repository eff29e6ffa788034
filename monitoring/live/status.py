"""How far the live path has come, as this node sees it (a selector): for each member this node
sends to, the last event it applied out of how many; for each source this node receives from, the
same, and how old the newest applied event is (the lag, as the source stamped its events); and how
many of this node's own events are committed but not numbered yet (the forwarder's backlog: `head`
counts only numbered events)."""

from __future__ import annotations

from django.utils import timezone

from monitoring.models import LiveEvent, LiveLink

HEAD = "*"


def links(*, now=None) -> dict:
    now = now or timezone.now()
    rows = list(LiveLink.objects.all())
    head = next((r.head for r in rows if r.peer == HEAD and r.direction == LiveLink.Direction.OUT), 0)

    def common(r) -> dict:
        return {"peer": r.peer, "applied": r.seq, "last_ok_at": r.last_ok_at, "last_error": r.last_error,
                "last_error_at": r.last_error_at}

    sending = [{**common(r), "head": head, "behind": max(0, head - r.seq)}
               for r in rows if r.direction == LiveLink.Direction.OUT and r.peer != HEAD]
    receiving = [{**common(r), "head": r.head, "behind": max(0, r.head - r.seq), "refused": r.refused,
                  "newest_event_at": r.event_at,
                  "newest_event_age_s": round((now - r.event_at).total_seconds(), 3) if r.event_at else None,
                  "silent_s": round((now - r.last_ok_at).total_seconds(), 3) if r.last_ok_at else None}
                 for r in rows if r.direction == LiveLink.Direction.IN]
    unnumbered = LiveEvent.objects.filter(seq__isnull=True).count()
    return {"head": head, "unnumbered": unnumbered, "sending": sending, "receiving": receiving}
