"""Load per grid area: the latest power of the area's connectors against the area's capacity."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from monitoring import alert_fanout, alerts, conf
from monitoring.models import AreaLoadThreshold, ConnectorState
from registry.models import GridArea

logger = logging.getLogger("pilechain.monitoring")


def area_loads(*, areas=None, user=None, now=None) -> list[dict]:
    """One row per area: power now (W, from connectors heard within the silence window), capacity,
    percent, threshold, over. With a `user`, only the connectors whose power that user may see count
    (a pile's power is private to its audience: an area's total would give a competitor a fleet's
    power): the area's grid company and the regulator see the whole area, an operator its own piles'
    share. Without one (the node's own overload check), every connector counts."""
    now = now or timezone.now()
    fresh = now - dt.timedelta(seconds=conf.heartbeat_s() * conf.missed_heartbeats())
    areas = areas if areas is not None else GridArea.objects.all()
    thresholds = {t.area_id: t.percent for t in AreaLoadThreshold.objects.all()}
    states = ConnectorState.objects.restrict(user) if user is not None else ConnectorState.objects.all()
    sums = dict(
        states.filter(power_at__gte=fresh).values("pile__station__grid_area")
        .annotate(total=Sum("power_w")).values_list("pile__station__grid_area", "total")
    )
    rows = []
    for area in areas.select_related("owner").order_by("code"):
        power_w = sums.get(area.pk) or Decimal(0)
        capacity_w = area.capacity_kw * 1000
        percent = (power_w * 100 / capacity_w).quantize(Decimal("0.1")) if capacity_w else None
        threshold = thresholds.get(area.pk, conf.default_area_threshold_percent())
        rows.append({
            "area": area.code, "owner": area.owner.code, "power_kw": (power_w / 1000).quantize(Decimal("0.001")),
            "capacity_kw": area.capacity_kw, "percent": percent, "threshold_percent": threshold,
            "over": percent is not None and percent > threshold,
        })
    return rows


def over_key(area: str) -> str:
    return f"monitoring:area-over:{area}"


def check_area_loads(*, now=None) -> list[dict]:
    """Push an alert when an area goes above its threshold: once, until it is back under (the mark
    is in the node's cache, shared by its processes)."""
    now = now or timezone.now()
    raised = []
    for row in area_loads(now=now):
        if row["over"] and cache.add(over_key(row["area"]), 1, timeout=None):
            alert = {
                "id": f"load:{row['area']}:{int(now.timestamp())}", "phase": "reported", "tx_id": None, "height": None,
                "pile": None, "connector_id": None, "kind": "area_overload", "severity": "major", "error_code": "",
                "detail": f"{row['area']} at {row['percent']} % of capacity (threshold {row['threshold_percent']} %)",
                "detected_at": now.isoformat(), "operator": None, "area": row["area"], "area_owner": row["owner"],
                "fault": None, "work_order": None,
            }
            alert_fanout.publish(alert)
            raised.append(alert)
        elif not row["over"]:
            cache.delete(over_key(row["area"]))
    return raised
