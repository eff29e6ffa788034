"""A pile's operational state: the one rule that combines what is known about a pile (issue #17).

Pure: no Django, no I/O, no clock (the caller passes `now`). The parts come from three places:

- the registry (ledger): the administrative status, `planned`, `active`, `out_of_service`, `retired`;
- the live state (node-local, "reported"): is the pile connected and when was it last heard, and the
  latest status of each connector, written by this node's gateway or carried by the live path from
  the pile's operator's node (`reported_by`);
- the ledger: open faults (a fault whose work order is still opened, assigned or in progress), open
  work orders, and the meter's calibration standing (calibration.contracts.compliance: compliant,
  non_compliant, overdue, unverified).

Each part is turned into facts (`facts`), and the first row of `PRECEDENCE` with one of its facts
true names the state; with none, the state is `unknown`. The table, in order (docs/monitoring.md):

    retired           the registry says retired
    faulted           a connector (or the pile, connector 0) reports Faulted, or a fault is open
    out_of_service    the registry says out of service
    not_commissioned  the registry says planned
    not_compliant     the meter failed its verification, or its verification is overdue
    offline           the pile's connection is down
    available         a connector reports Available
    charging          a connector is in use (Preparing, Charging, SuspendedEV/EVSE, Finishing, Occupied)
    unavailable       a connector reports Unavailable or Reserved
    unknown           none of the above: never heard of, silent, or no connector status yet

Live facts (faulted from a connector, available, charging, unavailable) count only while the pile is
connected and fresh: not reported offline, and heard within the silence window (the heartbeat
interval times the heartbeats it may miss, monitoring.conf). A connected pile not heard for longer is
"silent": its live part then says nothing, so it comes out `unknown` unless a row above applies (the
operator's node reports a silent active pile as a fault, which makes it `faulted` everywhere once
committed). A pile reported offline is `offline` however old that report is. A pile whose connection
was never reported (`online` None) but that was heard within the window counts as connected.

Who sees which part is decided before the rule runs: a part the viewer may not see is passed as
hidden and gives no fact, so a person sees the state that the parts they may see make.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# --- the states, in the order of the rule ---------------------------------------------------------
RETIRED = "retired"
FAULTED = "faulted"
OUT_OF_SERVICE = "out_of_service"
NOT_COMMISSIONED = "not_commissioned"
NOT_COMPLIANT = "not_compliant"
OFFLINE = "offline"
AVAILABLE = "available"
CHARGING = "charging"
UNAVAILABLE = "unavailable"
UNKNOWN = "unknown"

# --- the facts the parts give ---------------------------------------------------------------------
REGISTRY_RETIRED = "registry_retired"
REGISTRY_OUT_OF_SERVICE = "registry_out_of_service"
REGISTRY_PLANNED = "registry_planned"
LIVE_FAULTED = "live_faulted"
OPEN_FAULT = "open_fault"
METER_NOT_COMPLIANT = "meter_not_compliant"
DISCONNECTED = "disconnected"
CONNECTOR_AVAILABLE = "connector_available"
CONNECTOR_IN_USE = "connector_in_use"
CONNECTOR_UNAVAILABLE = "connector_unavailable"

# The rule: the first row with one of its facts true gives the state; none: UNKNOWN.
PRECEDENCE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (RETIRED, (REGISTRY_RETIRED,)),
    (FAULTED, (LIVE_FAULTED, OPEN_FAULT)),
    (OUT_OF_SERVICE, (REGISTRY_OUT_OF_SERVICE,)),
    (NOT_COMMISSIONED, (REGISTRY_PLANNED,)),
    (NOT_COMPLIANT, (METER_NOT_COMPLIANT,)),
    (OFFLINE, (DISCONNECTED,)),
    (AVAILABLE, (CONNECTOR_AVAILABLE,)),
    (CHARGING, (CONNECTOR_IN_USE,)),
    (UNAVAILABLE, (CONNECTOR_UNAVAILABLE,)),
)
FALLBACK = UNKNOWN
STATES = tuple(state for state, _ in PRECEDENCE) + (FALLBACK,)

# --- the parts' vocabularies ----------------------------------------------------------------------
ADMIN_FACTS = {"retired": REGISTRY_RETIRED, "out_of_service": REGISTRY_OUT_OF_SERVICE, "planned": REGISTRY_PLANNED}
# OCPP 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType, by what they say about the plug.
FAULTED_STATUSES = frozenset({"Faulted"})
AVAILABLE_STATUSES = frozenset({"Available"})
IN_USE_STATUSES = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied"})
UNAVAILABLE_STATUSES = frozenset({"Unavailable", "Reserved"})
NOT_COMPLIANT_STANDINGS = frozenset({"non_compliant", "overdue"})
SEVERITY_ORDER = ("critical", "major", "minor")  # most severe first

# The connection part's values.
ONLINE = "online"
SILENT = "silent"
NEVER = "never"
HIDDEN = "hidden"

# Warnings: a part contradicts another (the state stays the rule's).
LIVE_WHILE_PLANNED = "live_while_planned"
LIVE_WHILE_RETIRED = "live_while_retired"
IN_USE_WHILE_OUT_OF_SERVICE = "in_use_while_out_of_service"


@dataclass(frozen=True)
class Admin:
    status: str  # planned, active, out_of_service, retired
    height: int | None = None  # the block that last changed the pile
    at: dt.datetime | None = None  # that block's time


@dataclass(frozen=True)
class ConnectorStatus:
    connector_id: int  # 0: the pile as a whole
    status: str  # as the pile reported it (OCPP)
    at: dt.datetime | None = None
    error_code: str = ""


@dataclass(frozen=True)
class Live:
    """The live part. `known`: the node has a state for the pile at all. `online`: True, False or
    None (connection never reported). `reported_by`: '' for this node's own gateway, else the
    member node whose live path carried it. `visible`: the viewer may see it."""

    visible: bool = True
    known: bool = False
    online: bool | None = None
    online_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None
    reported_by: str = ""
    connectors: tuple[ConnectorStatus, ...] = ()


@dataclass(frozen=True)
class Faults:
    visible: bool = True
    open_count: int = 0
    severity: str = ""  # the most severe open fault's
    at: dt.datetime | None = None  # the newest open fault's detection time


@dataclass(frozen=True)
class WorkOrders:
    visible: bool = True
    open_count: int = 0
    overdue_count: int = 0
    at: dt.datetime | None = None  # the newest open work order's opening time


@dataclass(frozen=True)
class Calibration:
    visible: bool = True
    standing: str = "unverified"  # compliant, non_compliant, overdue, unverified
    at: dt.datetime | None = None  # since when (the record's block time)
    due_on: dt.date | None = None


@dataclass(frozen=True)
class Parts:
    admin: Admin
    live: Live = field(default_factory=Live)
    faults: Faults = field(default_factory=Faults)
    work_orders: WorkOrders = field(default_factory=WorkOrders)
    calibration: Calibration = field(default_factory=Calibration)


@dataclass(frozen=True)
class Decision:
    """The rule's answer: the state, the facts that held, the one that decided (None: the fallback),
    the connection as the rule read it (online, offline, silent, never, hidden) and the warnings."""

    state: str
    decided_by: str | None
    facts: frozenset[str]
    connection: str
    warnings: tuple[str, ...]
    parts: Parts


def most_severe(severities) -> str:
    found = set(severities)
    return next((s for s in SEVERITY_ORDER if s in found), "")


def connection(live: Live, *, now: dt.datetime, silence: dt.timedelta) -> str:
    """online, offline, silent (connected but not heard within `silence`), never or hidden."""
    if not live.visible:
        return HIDDEN
    if not live.known:
        return NEVER
    if live.online is False:
        return OFFLINE
    if live.last_seen_at is None or now - live.last_seen_at > silence:
        return SILENT
    return ONLINE


def facts(parts: Parts, *, now: dt.datetime, silence: dt.timedelta) -> frozenset[str]:
    found = set()
    admin_fact = ADMIN_FACTS.get(parts.admin.status)
    if admin_fact:
        found.add(admin_fact)
    conn = connection(parts.live, now=now, silence=silence)
    if conn == OFFLINE:
        found.add(DISCONNECTED)
    elif conn == ONLINE:
        for c in parts.live.connectors:
            if c.status in FAULTED_STATUSES:
                found.add(LIVE_FAULTED)
            if c.connector_id == 0:  # the pile as a whole: only its Faulted counts
                continue
            if c.status in AVAILABLE_STATUSES:
                found.add(CONNECTOR_AVAILABLE)
            elif c.status in IN_USE_STATUSES:
                found.add(CONNECTOR_IN_USE)
            elif c.status in UNAVAILABLE_STATUSES:
                found.add(CONNECTOR_UNAVAILABLE)
    if parts.faults.visible and parts.faults.open_count > 0:
        found.add(OPEN_FAULT)
    if parts.calibration.visible and parts.calibration.standing in NOT_COMPLIANT_STANDINGS:
        found.add(METER_NOT_COMPLIANT)
    return frozenset(found)


def state_of(found: frozenset[str] | set[str]) -> tuple[str, str | None]:
    """The state the facts give by PRECEDENCE, and the fact that decided it."""
    for state, row_facts in PRECEDENCE:
        for fact in row_facts:
            if fact in found:
                return state, fact
    return FALLBACK, None


def decide(parts: Parts, *, now: dt.datetime, silence: dt.timedelta) -> Decision:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    found = facts(parts, now=now, silence=silence)
    state, decided_by = state_of(found)
    conn = connection(parts.live, now=now, silence=silence)
    warnings = []
    if conn == ONLINE and REGISTRY_PLANNED in found:
        warnings.append(LIVE_WHILE_PLANNED)
    if conn == ONLINE and REGISTRY_RETIRED in found:
        warnings.append(LIVE_WHILE_RETIRED)
    if CONNECTOR_IN_USE in found and REGISTRY_OUT_OF_SERVICE in found:
        warnings.append(IN_USE_WHILE_OUT_OF_SERVICE)
    return Decision(state, decided_by, found, conn, tuple(warnings), parts)
