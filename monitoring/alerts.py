"""Fault alerts: their shape, who may see them and the filters a subscriber (websocket or webhook)
narrows them with. How they leave this node is monitoring.alert_fanout."""

from __future__ import annotations

from registry.access import ALL, institution_audience, pile_audience

GROUP = "monitoring.alerts"  # the channel layer group of this node's websocket subscribers
PHASES = ("reported", "confirmed")
SEVERITIES = ("critical", "major", "minor")
FILTER_KEYS = ("institutions", "areas", "piles", "severities", "phases")
MAX_FILTER_VALUES = 200


def build(*, phase: str, tx_id: str, pile, payload: dict, height: int | None = None, work_order: str | None = None,
          fault: str | None = None) -> dict:
    station = pile.station
    return {
        "id": tx_id, "phase": phase, "tx_id": tx_id, "height": height,
        "pile": pile.code, "connector_id": payload["connector_id"], "kind": payload["kind"],
        "severity": payload["severity"], "error_code": payload.get("error_code", ""), "detail": payload.get("detail", ""),
        "detected_at": payload["detected_at"], "operator": station.operator.code, "area": station.grid_area.code,
        "area_owner": station.grid_area.owner.code, "fault": fault, "work_order": work_order,
    }


def audience(user) -> dict | None:
    """What a subscriber may see, as plain data the consumer can test each alert against without a
    query: {"all": True} or {"operator": code} or {"area_owner": code}; None: nothing. The ladder is
    registry.access's for a pile's private data."""
    return _scope(pile_audience(user))


def scope_of(institution) -> dict | None:
    """What an institution may see of alerts (its people's subscriptions, its webhooks)."""
    return _scope(institution_audience(institution))


def _scope(audience) -> dict | None:
    if audience is None:
        return None
    kind, institution = audience
    return {"all": True} if kind == ALL else {kind: institution.code}


def visible(alert: dict, scope: dict | None) -> bool:
    if not scope:
        return False
    if scope.get("all"):
        return True
    if "operator" in scope:
        return alert.get("operator") == scope["operator"]
    if "area_owner" in scope:
        return alert.get("area_owner") == scope["area_owner"]
    return False


def matches(alert: dict, filters: dict) -> bool:
    """Subscription filters: each given list narrows (institution = operator or area owner)."""
    for key, field in (("piles", "pile"), ("areas", "area"), ("severities", "severity"), ("phases", "phase")):
        wanted = filters.get(key)
        if wanted and alert.get(field) not in wanted:
            return False
    institutions = filters.get("institutions")
    if institutions and alert.get("operator") not in institutions and alert.get("area_owner") not in institutions:
        return False
    return True


def parse_filters(raw: dict, keys: tuple = FILTER_KEYS) -> dict:
    """Plain lists of short strings, for the filter names `keys` (the alerts', or another stream's);
    unknown names are an error (a typo must not mean 'everything')."""
    unknown = set(raw) - set(keys)
    if unknown:
        raise ValueError(f"unknown filters: {', '.join(sorted(unknown))}")
    filters = {}
    for key in keys:
        value = raw.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or len(value) > MAX_FILTER_VALUES or not all(isinstance(v, str) and len(v) <= 64 for v in value):
            raise ValueError(f"{key} must be a list of names")
        if key == "piles":
            value = [v.upper() for v in value]
        filters[key] = value
    return filters
