"""A pile's operational state as a user may see it: the parts read for many piles at once, the one
rule (monitoring.operational_state) applied, and the same rule as SQL for filters and counts.

Visibility (registry.access): the registry status is public; the live connection and connector
statuses of a public pile are public (a public charging map shows them), of a dedicated pile as
private as its private fields; open faults, work orders and calibration standing always as private
as the pile's private fields (PileData: its operator, the regulator, the metrology institutes, the
grid company for its areas). A part the user may not see is hidden: it gives the rule no fact, so a
competing operator sees the state the public parts make, and never another operator's faults.

`pile_states` reads a list of piles in a fixed number of queries (seven), whatever its length;
`state_q` and `state_case` put the same precedence into SQL so a list page or the API filters and
counts thousands of piles without loading them (tests/monitoring/test_operational_state.py checks
that both ways agree)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from calibration.contracts.compliance import COMPLIANT, NON_COMPLIANT, UNVERIFIED, standing_on
from calibration.models import PileCompliance
from core import localtime
from ledger.models import Block
from monitoring import conf
from monitoring import operational_state as rule
from monitoring.models import ConnectorState, PileState, WorkOrder, WorkOrderState
from registry.access import PRIVATE, VIEW, restriction_q
from registry.models import Pile

OPEN_WORK_ORDER_STATES = (WorkOrderState.OPENED, WorkOrderState.ASSIGNED, WorkOrderState.IN_PROGRESS)

STATE_LABELS = {
    rule.RETIRED: _("Retired"),
    rule.FAULTED: _("Faulted"),
    rule.OUT_OF_SERVICE: _("Out of service"),
    rule.NOT_COMMISSIONED: _("Not commissioned"),
    rule.NOT_COMPLIANT: _("Meter not compliant"),
    rule.OFFLINE: _("Offline"),
    rule.AVAILABLE: _("Available"),
    rule.CHARGING: _("Charging"),
    rule.UNAVAILABLE: _("Unavailable"),
    rule.UNKNOWN: pgettext_lazy("operational state", "Unknown"),
}
# The stylesheet's badges (static/css): ok, warn, bad, muted.
STATE_BADGES = {
    rule.RETIRED: "muted", rule.FAULTED: "bad", rule.OUT_OF_SERVICE: "bad", rule.NOT_COMMISSIONED: "warn",
    rule.NOT_COMPLIANT: "bad", rule.OFFLINE: "bad", rule.AVAILABLE: "ok", rule.CHARGING: "ok",
    rule.UNAVAILABLE: "warn", rule.UNKNOWN: "muted",
}
FACT_LABELS = {
    rule.REGISTRY_RETIRED: _("the registry says retired"),
    rule.LIVE_FAULTED: _("a connector reports Faulted"),
    rule.OPEN_FAULT: _("a fault is open on the ledger"),
    rule.REGISTRY_OUT_OF_SERVICE: _("the registry says out of service"),
    rule.REGISTRY_PLANNED: _("the registry says planned"),
    rule.METER_NOT_COMPLIANT: _("the meter failed verification or is overdue"),
    rule.DISCONNECTED: _("the connection is down"),
    rule.CONNECTOR_AVAILABLE: _("a connector is available"),
    rule.CONNECTOR_IN_USE: _("a connector is in use"),
    rule.CONNECTOR_UNAVAILABLE: _("a connector is unavailable or reserved"),
}
WARNING_LABELS = {
    rule.LIVE_WHILE_PLANNED: _("Connected and reporting although the registry says it is not commissioned."),
    rule.LIVE_WHILE_RETIRED: _("Connected and reporting although the registry says it is retired."),
    rule.IN_USE_WHILE_OUT_OF_SERVICE: _("In use although the registry says it is out of service."),
}
PART_LABELS = {
    "registry": _("Registry status"),
    "connection": _("Connection"),
    "connector": _("Connector"),
    "faults": _("Open faults"),
    "work_orders": _("Open work orders"),
    "calibration": _("Calibration"),
}
CONNECTION_LABELS = {
    rule.ONLINE: _("Online"),
    rule.OFFLINE: _("Offline"),
    rule.SILENT: _("Silent: not heard within the silence window"),
    rule.NEVER: _("Never heard of"),
    rule.HIDDEN: _("Not shown to you"),
}
STANDING_LABELS = {
    COMPLIANT: _("Compliant"),
    NON_COMPLIANT: _("Non-compliant"),
    "overdue": _("Verification overdue"),
    UNVERIFIED: _("Unverified"),
}
SEVERITY_LABELS = {"critical": _("Critical"), "major": _("Major"), "minor": _("Minor")}


def state_choices() -> list[tuple[str, str]]:
    return [(state, STATE_LABELS[state]) for state in rule.STATES]


def silence_window() -> dt.timedelta:
    """No message for longer than this and a connected pile counts as silent (monitoring.conf)."""
    return dt.timedelta(seconds=conf.heartbeat_s() * conf.missed_heartbeats())


# --- what one user sees of a pile --------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One part of the state, as pages and the API show it."""

    part: str
    value: str
    value_label: str
    source: str  # registry, live or ledger
    reported_by: str = ""  # live: the member node that reported it ('' : this node's own gateway)
    at: dt.datetime | None = None
    height: int | None = None
    visible: bool = True
    connector_id: int | None = None
    count: int | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        if self.part == "connector":
            return f"{PART_LABELS['connector']} {self.connector_id}"
        return str(PART_LABELS[self.part])

    @property
    def source_label(self) -> str:
        if self.source == "live":
            if self.reported_by:
                return str(_("live: reported by %(node)s") % {"node": self.reported_by})
            return str(_("live: this node's gateway"))
        return {"registry": str(_("registry")), "ledger": str(_("ledger"))}[self.source]

    def as_dict(self) -> dict:
        return {
            "part": self.part, "connector_id": self.connector_id, "value": self.value,
            "label": str(self.value_label), "count": self.count, "detail": self.detail, "source": self.source,
            "reported_by": self.reported_by, "source_label": self.source_label, "at": self.at,
            "height": self.height, "visible": self.visible,
        }


@dataclass(frozen=True)
class OperationalState:
    state: str
    decided_by: str | None
    warnings: tuple[str, ...]
    parts: tuple[Part, ...] = field(default=())

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]

    @property
    def reason(self) -> str:
        return str(FACT_LABELS[self.decided_by]) if self.decided_by else str(_("nothing else is known"))

    @property
    def warning_labels(self) -> list[str]:
        return [str(WARNING_LABELS[w]) for w in self.warnings]

    def as_dict(self) -> dict:
        return {
            "state": self.state, "label": self.label, "decided_by": self.decided_by or "", "reason": self.reason,
            "warnings": [{"code": w, "text": str(WARNING_LABELS[w])} for w in self.warnings],
            "parts": [part.as_dict() for part in self.parts],
        }


def _audience(user, pks: list[int]) -> tuple[bool, set[int]]:
    """(may the user see piles at all, the piles among `pks` whose private data the user may see)."""
    if restriction_q(Pile, user, VIEW) is None:
        return False, set()
    private = set(Pile.objects.restrict(user, PRIVATE).filter(pk__in=pks).values_list("pk", flat=True))
    return True, private


def pile_states(*, user, piles, now: dt.datetime | None = None) -> dict[int, OperationalState]:
    """The operational state of each pile (Pile objects) as `user` may see it, by pile pk. Seven
    queries at most, whatever the number of piles."""
    piles = list(piles)
    if not piles:
        return {}
    now = now or timezone.now()
    silence = silence_window()
    pks = [pile.pk for pile in piles]
    may_view, private = _audience(user, pks)
    live_visible = {pile.pk for pile in piles if may_view and (pile.public or pile.pk in private)}
    states = {row.pile_id: row for row in PileState.objects.filter(pile_id__in=live_visible)}
    connectors: dict[int, list] = {}
    for row in ConnectorState.objects.filter(pile_id__in=live_visible).order_by("pile_id", "connector_id"):
        connectors.setdefault(row.pile_id, []).append(row)
    orders: dict[int, list] = {}
    for row in (WorkOrder.objects.filter(pile_id__in=private, state__in=OPEN_WORK_ORDER_STATES)
                .values("pile_id", "opened_at", "due_at", "fault_id", "fault__severity", "fault__detected_at")):
        orders.setdefault(row["pile_id"], []).append(row)
    compliance = {row.pile_id: row for row in PileCompliance.objects.filter(pile_id__in=private)}
    heights = {pile.height for pile in piles if pile.height is not None}
    block_times = {
        height: dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)
        for height, ms in Block.objects.filter(height__in=heights).values_list("height", "timestamp_ms")
    }
    today = localtime.local_day(now)
    answer = {}
    for pile in piles:
        parts = rule.Parts(
            admin=rule.Admin(pile.status, pile.height, block_times.get(pile.height)),
            live=_live(pile.pk in live_visible, states.get(pile.pk), connectors.get(pile.pk, [])),
            faults=_faults(pile.pk in private, orders.get(pile.pk, [])),
            work_orders=_work_orders(pile.pk in private, orders.get(pile.pk, []), now),
            calibration=_calibration(pile.pk in private, compliance.get(pile.pk), today),
        )
        answer[pile.pk] = present(pile, rule.decide(parts, now=now, silence=silence))
    return answer


def pile_state(*, user, pile, now: dt.datetime | None = None) -> OperationalState:
    return pile_states(user=user, piles=[pile], now=now)[pile.pk]


def _live(visible: bool, state, connectors) -> rule.Live:
    if not visible:
        return rule.Live(visible=False)
    return rule.Live(
        visible=True, known=state is not None,
        online=state.online if state else None, online_at=state.online_at if state else None,
        last_seen_at=state.last_seen_at if state else None, reported_by=state.source if state else "",
        connectors=tuple(
            rule.ConnectorStatus(c.connector_id, c.status, c.status_at, c.error_code) for c in connectors if c.status
        ),
    )


def _faults(visible: bool, orders) -> rule.Faults:
    if not visible:
        return rule.Faults(visible=False)
    faults = [o for o in orders if o["fault_id"] is not None]
    return rule.Faults(
        visible=True, open_count=len(faults), severity=rule.most_severe(o["fault__severity"] for o in faults),
        at=max((o["fault__detected_at"] for o in faults), default=None),
    )


def _work_orders(visible: bool, orders, now) -> rule.WorkOrders:
    if not visible:
        return rule.WorkOrders(visible=False)
    return rule.WorkOrders(
        visible=True, open_count=len(orders), overdue_count=sum(1 for o in orders if o["due_at"] < now),
        at=max((o["opened_at"] for o in orders), default=None),
    )


def _calibration(visible: bool, row, today) -> rule.Calibration:
    if not visible:
        return rule.Calibration(visible=False)
    if row is None:
        return rule.Calibration(visible=True)
    return rule.Calibration(visible=True, standing=standing_on(row.status, row.due_on, today), at=row.since,
                            due_on=row.due_on)


def present(pile, decision: rule.Decision) -> OperationalState:
    """The decision with its parts as pages and the API show them, each with its source and time."""
    p = decision.parts
    parts = [Part("registry", p.admin.status, pile.get_status_display(), "registry", at=p.admin.at,
                  height=p.admin.height)]
    live = p.live
    parts.append(Part(
        "connection", decision.connection, CONNECTION_LABELS[decision.connection], "live",
        reported_by=live.reported_by, visible=live.visible,
        at=(live.online_at or live.last_seen_at) if decision.connection == rule.OFFLINE else live.last_seen_at,
    ))
    for c in live.connectors:
        parts.append(Part("connector", c.status, c.status, "live", reported_by=live.reported_by, at=c.at,
                          connector_id=c.connector_id, detail=c.error_code if c.error_code != "NoError" else ""))
    f = p.faults
    parts.append(Part(
        "faults", str(f.open_count) if f.visible else "", _count_label(f.visible, f.open_count), "ledger",
        at=f.at, visible=f.visible, count=f.open_count if f.visible else None,
        detail=str(SEVERITY_LABELS.get(f.severity, "")) if f.open_count else "",
    ))
    w = p.work_orders
    parts.append(Part(
        "work_orders", str(w.open_count) if w.visible else "", _count_label(w.visible, w.open_count), "ledger",
        at=w.at, visible=w.visible, count=w.open_count if w.visible else None,
        detail=str(_("%(n)d overdue") % {"n": w.overdue_count}) if w.overdue_count else "",
    ))
    cal = p.calibration
    parts.append(Part(
        "calibration", cal.standing if cal.visible else "",
        STANDING_LABELS[cal.standing] if cal.visible else CONNECTION_LABELS[rule.HIDDEN], "ledger",
        at=cal.at, visible=cal.visible,
        detail=str(_("due %(day)s") % {"day": cal.due_on.isoformat()}) if cal.due_on else "",
    ))
    return OperationalState(decision.state, decision.decided_by, decision.warnings, tuple(parts))


def _count_label(visible: bool, n: int):
    if not visible:
        return CONNECTION_LABELS[rule.HIDDEN]
    return str(n) if n else _("None")


# --- the same rule in SQL ------------------------------------------------------------------------------
NOTHING = Q(pk__in=[])
EVERYTHING = Q(pk__isnull=False)  # not Q(): `Q(x) | Q()` is Q(x) in Django


def fact_conditions(user, *, now: dt.datetime | None = None) -> dict[str, Q]:
    """Each fact of the rule as a condition on Pile rows, as `user` may see the parts behind it."""
    now = now or timezone.now()
    if restriction_q(Pile, user, VIEW) is None:
        return {fact: NOTHING for fact in FACT_LABELS}
    private = restriction_q(Pile, user, PRIVATE)
    private = NOTHING if private is None else private if private else EVERYTHING
    live_visible = Q(public=True) | private
    state = PileState.objects.filter(pile=OuterRef("pk"))
    connected = Q(Exists(state.exclude(online=False).filter(last_seen_at__gte=now - silence_window())))
    live = live_visible & connected

    def connector(statuses, *, whole_pile=False) -> Q:
        rows = ConnectorState.objects.filter(pile=OuterRef("pk"), status__in=sorted(statuses))
        return Q(Exists(rows if whole_pile else rows.filter(connector_id__gt=0)))

    today = localtime.local_day(now)
    not_compliant = PileCompliance.objects.filter(pile=OuterRef("pk")).filter(
        Q(status=NON_COMPLIANT) | Q(status=COMPLIANT, due_on__lt=today)
    )
    open_fault = WorkOrder.objects.filter(pile=OuterRef("pk"), state__in=OPEN_WORK_ORDER_STATES, fault__isnull=False)
    return {
        rule.REGISTRY_RETIRED: Q(status="retired"),
        rule.REGISTRY_OUT_OF_SERVICE: Q(status="out_of_service"),
        rule.REGISTRY_PLANNED: Q(status="planned"),
        rule.LIVE_FAULTED: live & connector(rule.FAULTED_STATUSES, whole_pile=True),
        rule.OPEN_FAULT: private & Q(Exists(open_fault)),
        rule.METER_NOT_COMPLIANT: private & Q(Exists(not_compliant)),
        rule.DISCONNECTED: live_visible & Q(Exists(state.filter(online=False))),
        rule.CONNECTOR_AVAILABLE: live & connector(rule.AVAILABLE_STATUSES),
        rule.CONNECTOR_IN_USE: live & connector(rule.IN_USE_STATUSES),
        rule.CONNECTOR_UNAVAILABLE: live & connector(rule.UNAVAILABLE_STATUSES),
    }


def _any(conditions: dict[str, Q], facts) -> Q:
    q = NOTHING
    for fact in facts:
        q |= conditions[fact]
    return q


def state_q(state: str, *, user, now: dt.datetime | None = None) -> Q:
    """Piles in `state` as `user` sees them: a fact of its row holds and none of an earlier row's."""
    if state not in rule.STATES:
        raise ValueError(f"unknown operational state {state!r}")
    conditions = fact_conditions(user, now=now)
    earlier = NOTHING
    for row_state, row_facts in rule.PRECEDENCE:
        if row_state == state:
            return _any(conditions, row_facts) & ~earlier
        earlier |= _any(conditions, row_facts)
    return ~earlier  # the fallback


def state_case(*, user, now: dt.datetime | None = None) -> Case:
    """The state as an SQL expression over Pile rows (for counting piles per state)."""
    conditions = fact_conditions(user, now=now)
    return Case(
        *[When(_any(conditions, facts), then=Value(state)) for state, facts in rule.PRECEDENCE],
        default=Value(rule.FALLBACK),
    )


def filter_piles(queryset, *, user, states, now: dt.datetime | None = None):
    """`queryset` (of Pile) narrowed to the piles in one of `states`, in SQL."""
    q = NOTHING
    for state in states:
        q |= state_q(state, user=user, now=now)
    return queryset.filter(q)


def state_counts(queryset, *, user, now: dt.datetime | None = None) -> dict[str, int]:
    """How many piles of `queryset` are in each state, counted in SQL (one query)."""
    rows = (queryset.order_by().annotate(operational_state=state_case(user=user, now=now))
            .values_list("operational_state").annotate(n=Count("pk")).order_by())
    counts = dict(rows)
    return {state: counts.get(state, 0) for state in rule.STATES}


class RegistryProvider:
    """What monitoring installs in registry.pile_states (monitoring.apps)."""

    def choices(self) -> list[tuple[str, str]]:
        return state_choices()

    def states(self, user, piles) -> dict:
        return pile_states(user=user, piles=piles)

    def filter(self, queryset, user, states):
        return filter_piles(queryset, user=user, states=states)
