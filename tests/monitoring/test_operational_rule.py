"""The operational state's rule (monitoring.operational_state), pure: every row of its precedence,
the two cases of issue #17, silence, the whole-pile connector and hidden parts."""

import datetime as dt

import pytest

from monitoring import operational_state as rule
from monitoring.operational_state import Admin, Calibration, ConnectorStatus, Faults, Live, Parts

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
SILENCE = dt.timedelta(minutes=15)
RECENT = NOW - dt.timedelta(minutes=1)
LONG_AGO = NOW - dt.timedelta(hours=2)


def online(*statuses, connector_zero=None, seen=RECENT, online_flag=True) -> Live:
    connectors = [ConnectorStatus(i + 1, s, RECENT) for i, s in enumerate(statuses)]
    if connector_zero:
        connectors.insert(0, ConnectorStatus(0, connector_zero, RECENT))
    return Live(known=True, online=online_flag, online_at=LONG_AGO, last_seen_at=seen, reported_by="OP-A",
                connectors=tuple(connectors))


OFFLINE_LIVE = Live(known=True, online=False, online_at=LONG_AGO, last_seen_at=LONG_AGO,
                    connectors=(ConnectorStatus(1, "Faulted", LONG_AGO),))
FAULT = Faults(open_count=2, severity="critical", at=RECENT)
FAILED = Calibration(standing="non_compliant", at=LONG_AGO)
OVERDUE = Calibration(standing="overdue", at=LONG_AGO)


def parts(status="active", live=Live(), faults=Faults(), calibration=Calibration()):
    return Parts(admin=Admin(status), live=live, faults=faults, calibration=calibration)


CASES = [
    # (name, parts, state, decided by)
    ("retired beats everything", parts("retired", online("Faulted"), FAULT, FAILED), rule.RETIRED, rule.REGISTRY_RETIRED),
    ("issue: active with open faults is faulted", parts("active", online("Available"), FAULT), rule.FAULTED, rule.OPEN_FAULT),
    ("issue: planned, connected and faulting", parts("planned", online("Faulted")), rule.FAULTED, rule.LIVE_FAULTED),
    ("open fault while offline", parts("active", OFFLINE_LIVE, FAULT), rule.FAULTED, rule.OPEN_FAULT),
    ("out of service beats live", parts("out_of_service", online("Available")), rule.OUT_OF_SERVICE, rule.REGISTRY_OUT_OF_SERVICE),
    ("faulted beats out of service", parts("out_of_service", online("Faulted")), rule.FAULTED, rule.LIVE_FAULTED),
    ("planned and available", parts("planned", online("Available")), rule.NOT_COMMISSIONED, rule.REGISTRY_PLANNED),
    ("planned, never heard", parts("planned"), rule.NOT_COMMISSIONED, rule.REGISTRY_PLANNED),
    ("meter failed", parts("active", online("Available"), calibration=FAILED), rule.NOT_COMPLIANT, rule.METER_NOT_COMPLIANT),
    ("verification overdue", parts("active", OFFLINE_LIVE, calibration=OVERDUE), rule.NOT_COMPLIANT, rule.METER_NOT_COMPLIANT),
    ("offline, its old Faulted does not count", parts("active", OFFLINE_LIVE), rule.OFFLINE, rule.DISCONNECTED),
    ("offline however long ago", parts("active", Live(known=True, online=False, last_seen_at=LONG_AGO - dt.timedelta(days=30))),
     rule.OFFLINE, rule.DISCONNECTED),
    ("one connector free", parts("active", online("Charging", "Available")), rule.AVAILABLE, rule.CONNECTOR_AVAILABLE),
    ("all in use", parts("active", online("Charging", "SuspendedEV")), rule.CHARGING, rule.CONNECTOR_IN_USE),
    ("2.0.1 occupied", parts("active", online("Occupied")), rule.CHARGING, rule.CONNECTOR_IN_USE),
    ("preparing counts as in use", parts("active", online("Preparing", "Unavailable")), rule.CHARGING, rule.CONNECTOR_IN_USE),
    ("unavailable", parts("active", online("Unavailable", "Reserved")), rule.UNAVAILABLE, rule.CONNECTOR_UNAVAILABLE),
    ("connector 0 faulted faults the pile", parts("active", online("Available", connector_zero="Faulted")), rule.FAULTED,
     rule.LIVE_FAULTED),
    ("connector 0 available is not a free plug", parts("active", online("Charging", connector_zero="Available")),
     rule.CHARGING, rule.CONNECTOR_IN_USE),
    ("never heard of", parts("active"), rule.UNKNOWN, None),
    ("silent: not heard within the window", parts("active", online("Faulted", seen=NOW - SILENCE - dt.timedelta(seconds=1))),
     rule.UNKNOWN, None),
    ("heard at the window's edge", parts("active", online("Available", seen=NOW - SILENCE)), rule.AVAILABLE,
     rule.CONNECTOR_AVAILABLE),
    ("connection never reported but heard", parts("active", online("Available", online_flag=None)), rule.AVAILABLE,
     rule.CONNECTOR_AVAILABLE),
    ("online, no connector status yet", parts("active", online()), rule.UNKNOWN, None),
    ("unknown status words count for nothing", parts("active", online("Weird")), rule.UNKNOWN, None),
    ("compliant changes nothing", parts("active", online("Available"), calibration=Calibration(standing="compliant")),
     rule.AVAILABLE, rule.CONNECTOR_AVAILABLE),
    ("unverified changes nothing", parts("active", online("Available")), rule.AVAILABLE, rule.CONNECTOR_AVAILABLE),
    # Hidden parts give no fact: another operator sees what the public parts make.
    ("hidden faults", parts("active", online("Available"), Faults(visible=False, open_count=2)), rule.AVAILABLE,
     rule.CONNECTOR_AVAILABLE),
    ("hidden calibration", parts("active", online("Available"), calibration=Calibration(visible=False, standing="overdue")),
     rule.AVAILABLE, rule.CONNECTOR_AVAILABLE),
    ("hidden live", parts("active", Live(visible=False, known=True, online=False)), rule.UNKNOWN, None),
]


@pytest.mark.parametrize("name,given,state,decided_by", CASES, ids=[c[0] for c in CASES])
def test_rule(name, given, state, decided_by):
    decision = rule.decide(given, now=NOW, silence=SILENCE)
    assert (decision.state, decision.decided_by) == (state, decided_by)


def test_every_row_of_the_precedence_is_covered():
    covered = {rule.decide(given, now=NOW, silence=SILENCE).state for _, given, _, _ in CASES}
    assert covered == set(rule.STATES)
    facts = {f for _, row in rule.PRECEDENCE for f in row}
    assert facts == {rule.decide(g, now=NOW, silence=SILENCE).decided_by for _, g, _, _ in CASES} - {None}


def test_warnings_name_contradicting_parts():
    planned = rule.decide(parts("planned", online("Faulted")), now=NOW, silence=SILENCE)
    assert planned.warnings == (rule.LIVE_WHILE_PLANNED,)
    retired = rule.decide(parts("retired", online("Available")), now=NOW, silence=SILENCE)
    assert retired.warnings == (rule.LIVE_WHILE_RETIRED,)
    suspended = rule.decide(parts("out_of_service", online("Charging")), now=NOW, silence=SILENCE)
    assert suspended.warnings == (rule.IN_USE_WHILE_OUT_OF_SERVICE,)
    assert rule.decide(parts("planned"), now=NOW, silence=SILENCE).warnings == ()


def test_connection_values():
    assert rule.connection(online("Available"), now=NOW, silence=SILENCE) == rule.ONLINE
    assert rule.connection(online(seen=LONG_AGO), now=NOW, silence=SILENCE) == rule.SILENT
    assert rule.connection(OFFLINE_LIVE, now=NOW, silence=SILENCE) == rule.OFFLINE
    assert rule.connection(Live(), now=NOW, silence=SILENCE) == rule.NEVER
    assert rule.connection(Live(visible=False), now=NOW, silence=SILENCE) == rule.HIDDEN


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        rule.decide(parts(), now=NOW.replace(tzinfo=None), silence=SILENCE)


def test_most_severe():
    assert rule.most_severe(["minor", "critical", "major"]) == "critical"
    assert rule.most_severe([]) == ""
