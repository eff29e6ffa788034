"""Issue #17's proof of "Who may read what" (docs/architecture.md): each operator's private values
carry a unique marker, and every principal's responses are swept for them.

Markers, per operator (OP-A / OP-B), of every kind the table keeps to a pile's audience:
    pile      a dedicated pile's private fields (vendor, model, serial, firmware) and its device key
    station   a station's contact name, phone and notes
    live      a connector's power and energy (the live state and the raw readings) and a dedicated
              pile's status
    fault     a fault's detail, its work order's title, assignee and step note, their public ids
    calib     a verification request's reference, a calibration record's public id
    session   a charging session's meter figures, driver's id tag and public id
Nothing the table makes public (a public pile's status, public fields) carries a marker.

Swept, for every user of the world fixture (a session; managers' institutions also through an API
token) and an anonymous client: every GET route of the URL resolver (API and pages, path parameters
filled with both operators' objects, list endpoints also as ?format=csv and with each pile as a
filter) and the replay of the two websocket streams (/ws/alerts/ and /ws/live/ with ?after=0).
A route the sweep cannot fill must be listed in SKIPPED with its reason.

Who may see a marker (registry.access.institution_audience, the one ladder): the pile's operator, the
regulator, the metrology institutes (every pile: they verify anyone's meters), the grid company
owning the pile's area (not sessions, which name the driver's token), the platform administrator.
Never another operator, the other grid company, or anyone anonymous. And the audience does see them:
the sweep fails if an allowed principal finds a kind nowhere, so it cannot pass by showing nothing
(except what this node cannot open: OP-B's station contacts are sealed to OP-B's readers, and this
node is OP-A's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import pytest
import websockets
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from calibration import services as calibration_services
from calibration.models import VerificationRecord
from ledger.models import Block, Submission
from monitoring import ingest
from monitoring.live import forwarder
from monitoring.models import Fault, Reading, WorkOrder
from monitoring.services import workorders as workorder_services
from registry import services
from registry.models import Connector, DeviceKey, Pile, Station
from settlement.models import ChargingSession
from settlement.services import sessions
from tests.calibration.helpers import ALL_OK, box_record
from tests.conftest import signing_key
from tests.gateway.live import live_server
from tests.monitoring.test_alerts_live import session_cookie
from tests.utils.ledger import commit_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

OPERATORS = ("OP-A", "OP-B")
WORD = {"OP-A": "alpha", "OP-B": "bravo"}
AREA_OWNER = {"OP-A": "GRID-1", "OP-B": "GRID-2"}
ALL_SEE = {"REG", "METRO", "METRO-2", "admin"}
DEDICATED = {"OP-A": "PILE-AD", "OP-B": "PILE-BD"}
STATION = {"OP-A": "ST-AM", "OP-B": "ST-BM"}
AREA = {"OP-A": "AREA-1", "OP-B": "AREA-2"}
KEY_SEED = {"OP-A": 41, "OP-B": 42}

# A string marker: "Qzmk" + the operator's word + its kind's word ("QzmkalphaSerial").
MARKER = re.compile(r"qzmk(alpha|bravo)([a-z]+)", re.IGNORECASE)
SUFFIX_KIND = {
    "vendor": "pile", "model": "pile", "serial": "pile", "firmware": "pile",
    "contact": "station", "phone": "station", "notes": "station",
    "status": "live",
    "fault": "fault", "assignee": "fault", "note": "fault",
    "reference": "calib",
    "tag": "session",
}
KINDS = ("pile", "station", "live", "fault", "calib", "session")


def marker(operator: str, suffix: str) -> str:
    assert suffix.lower() in SUFFIX_KIND
    return f"Qzmk{WORD[operator]}{suffix}"


# Numeric markers: the live figures and the session's meter, found whatever the unit or separators
# (7777.123456 W, 7.777123456 kW, 77771.23456 Wh, "7,777.123"): seven significant digits in order.
POWER_W = {"OP-A": Decimal("7777.123456"), "OP-B": Decimal("8888.654321")}
ENERGY_WH = {"OP-A": Decimal("77771.23456"), "OP-B": Decimal("88886.54321")}
SESSION_START_WH = {"OP-A": 7776543, "OP-B": 8887456}


def digits(text: str) -> re.Pattern:
    return re.compile(r"(?<![\w.])" + r"[.,]?".join(text))


NUMBERS = {
    ("OP-A", "live"): digits("7777123"), ("OP-B", "live"): digits("8888654"),
    ("OP-A", "session"): digits("7776543"), ("OP-B", "session"): digits("8887456"),
}


def allowed(institution: str | None, operator: str, kind: str) -> bool:
    if institution is None:
        return False
    if institution in ALL_SEE or institution == operator:
        return True
    return institution == AREA_OWNER[operator] and kind != "session"


def readable_here(operator: str, kind: str) -> bool:
    """Whether this node can show the marker at all: a station's contacts travel sealed to its
    readers, and this test's node (OP-A's) is not one of OP-B's station's, so nobody here sees them
    (what another operator's node may never do, whoever asks)."""
    return not (kind == "station" and operator != "OP-A")


# --- seeding ---------------------------------------------------------------------------------------
@dataclass
class Seeded:
    ids: dict  # lower-cased public id -> (operator, kind)
    pools: dict  # path parameter pools for the sweep
    piles: list


def _ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def seed(world) -> Seeded:
    platform_admin = world.users["admin"]
    ids: dict[str, tuple[str, str]] = {}
    for op in OPERATORS:
        services.station_create(
            actor=platform_admin, operator=op, code=STATION[op], name=f"Depot {op}", address=f"{op} depot road",
            latitude=Decimal("31.2"), longitude=Decimal("121.4"), grid_area=AREA[op],
            contact_name=marker(op, "Contact"), contact_phone=marker(op, "Phone"), notes=marker(op, "Notes"),
        )
    commit_all()
    for op in OPERATORS:
        services.pile_register(
            actor=platform_admin, station=STATION[op], code=DEDICATED[op], kind="dc", rated_power_kw=Decimal("60"),
            accuracy_class=2, status="active", commissioned_on=dt.date(2025, 1, 1), public=False,
            vendor=marker(op, "Vendor"), model_name=marker(op, "Model"), serial_number=marker(op, "Serial"),
            firmware_version=marker(op, "Firmware"),
            connectors=[{"connector_id": 1, "standard": "gbt_dc"}, {"connector_id": 2, "standard": "gbt_dc"}],
            keys=[{"public_key": signing_key(KEY_SEED[op]).public_key.hex, "kind": "ed25519", "purpose": "device"}],
        )
    commit_all()
    for op in OPERATORS:
        pile = DEDICATED[op]
        key = DeviceKey.objects.get(pile__code=pile)
        ids[key.public_key_hex.lower()] = (op, "pile")
        ids[key.fingerprint.lower()] = (op, "pile")
        # live state and readings: the dedicated pile's power and energy, and the public pile's
        # energy (a public pile's figures are as private as anyone's); a dedicated pile's status.
        ingest.record_meter_values(pile_code=pile, connector_id=1, source="ocpp1.6", samples=[
            {"timestamp": _ago(3), "measurand": "Power.Active.Import", "value": POWER_W[op], "unit": "W",
             "phase": None, "context": None},
            {"timestamp": _ago(3), "measurand": "Energy.Active.Import.Register", "value": ENERGY_WH[op], "unit": "Wh",
             "phase": None, "context": None},
        ])
        public_pile = {"OP-A": "PILE-A1", "OP-B": "PILE-B1"}[op]
        ingest.record_meter_values(pile_code=public_pile, connector_id=1, source="ocpp1.6", samples=[
            {"timestamp": _ago(3), "measurand": "Energy.Active.Import.Register", "value": ENERGY_WH[op], "unit": "Wh",
             "phase": None, "context": None},
        ])
        ingest.record_status(pile_code=pile, connector_id=1, status=marker(op, "Status"), error_code="", info="",
                             timestamp=_ago(2), source="ocpp1.6")
        # a fault with its detail, which opens a work order titled after it
        ingest.record_status(pile_code=pile, connector_id=2, status="Faulted", error_code="GroundFailure",
                             info=marker(op, "Fault"), timestamp=_ago(2), source="ocpp1.6")
        # a verification request with the operator's reference
        calibration_services.request_open(world.users[{"OP-A": "a_manager", "OP-B": "b_manager"}[op]], pile=pile,
                                          reference=marker(op, "Reference"))
        # a charging session
        _, session_uid = sessions.session_open(
            pile=pile, connector_id=1, transaction_id=f"TX-{op}", id_tag=marker(op, "Tag"), protocol="ocpp1.6",
            started_at=_ago(30), meter_start_wh=SESSION_START_WH[op])
        sessions.session_close(pile=pile, session=session_uid, stopped_at=_ago(20),
                               meter_stop_wh=SESSION_START_WH[op] + 1500, stop_reason="Local")
        ids[str(session_uid).lower()] = (op, "session")
    commit_all()
    for op, sequence in zip(OPERATORS, (901, 902)):
        calibration_services.record_file(world.users["metro_manager"], record=box_record(sequence=sequence,
                                         pile=DEDICATED[op]), kind="first", observations=ALL_OK)
    manager = {"OP-A": world.users["a_manager"], "OP-B": world.users["b_manager"]}
    for op in OPERATORS:
        order = WorkOrder.objects.get(pile__code=DEDICATED[op])
        workorder_services.workorder_step(actor=manager[op], work_order=order, to="assigned",
                                          assignee=marker(op, "Assignee"), note=marker(op, "Note"))
    commit_all()
    for op in OPERATORS:
        pile = DEDICATED[op]
        for order in WorkOrder.objects.filter(pile__code=pile):
            ids[str(order.uid).lower()] = (op, "fault")
        for fault in Fault.objects.filter(pile__code=pile):
            ids[str(fault.uid).lower()] = (op, "fault")
        for record in VerificationRecord.objects.filter(pile__code=pile):
            ids[str(record.uid).lower()] = (op, "calib")
    assert VerificationRecord.objects.filter(pile__code__in=DEDICATED.values()).count() == 2
    assert WorkOrder.objects.filter(pile__code__in=DEDICATED.values(), state="assigned").count() == 2
    # the live stream's history: this node's own events, numbered and published as its forwarder does
    forwarder.publish_own(forwarder.sequence())

    piles = sorted(Pile.objects.values_list("code", flat=True))
    marked = list(DEDICATED.values())
    transactions = _marked_transactions()
    pools = {
        "pile": piles,
        "station": sorted(set(Pile.objects.values_list("station__code", flat=True))),
        "area": ["AREA-1", "AREA-2"],
        "box": ["TB-1", "TB-2"],
        "institution": ["OP-A", "OP-B"],
        "connector": [str(u) for u in Connector.objects.filter(pile__code__in=marked).values_list("uid", flat=True)],
        "session": [str(u) for u in ChargingSession.objects.filter(pile__code__in=marked).values_list("uid", flat=True)],
        "workorder": [str(u) for u in WorkOrder.objects.filter(pile__code__in=marked).values_list("uid", flat=True)],
        "record": [str(u) for u in VerificationRecord.objects.filter(pile__code__in=marked).values_list("uid", flat=True)],
        "fingerprint": list(DeviceKey.objects.filter(pile__code__in=marked).values_list("fingerprint", flat=True)),
        "reading": [str(pk) for pk in Reading.objects.filter(pile__code__in=marked).values_list("pk", flat=True)[:4]],
        "tx": list(transactions.values()),
        "tx_calibration": [tx for (_, type_), tx in transactions.items() if type_.startswith("calibration.")],
        "height": [str(h) for h in range(1, Block.objects.order_by("-height").values_list("height", flat=True)[0] + 1)],
        "none": [str(uuid.UUID(int=1))],  # objects the sweep has none of (statements, claims, jobs): a 404 each
    }
    assert len(pools["session"]) == 2 and len(pools["workorder"]) == 2 and len(pools["record"]) == 2
    return Seeded(ids=ids, pools=pools, piles=piles)


SWEPT_TX_TYPES = ("registry.station_create", "registry.pile_register", "monitoring.fault_report",
                  "monitoring.workorder_step", "settlement.session_open", "calibration.request_open",
                  "calibration.record_file")


def _marked_transactions() -> dict:
    """One transaction of each kind that carries a marker (or names a dedicated pile), per operator."""
    chosen = {}
    for tx_id, type_, body in Submission.objects.order_by("pk").values_list("tx_id", "type", "body"):
        text = json.dumps(body)
        for op in OPERATORS:
            # Station contacts travel sealed: their transaction is found by the station's code.
            if type_ in SWEPT_TX_TYPES and (f"Qzmk{WORD[op]}" in text or DEDICATED[op] in text
                                            or f'"{STATION[op]}"' in text):
                chosen.setdefault((op, type_), tx_id)
    missing = {(op, t) for op in OPERATORS for t in SWEPT_TX_TYPES} - set(chosen)
    assert not missing, f"no transaction of {sorted(missing)}"
    return chosen


# --- the routes ------------------------------------------------------------------------------------
# Routes the sweep does not GET, with the reason; every other route must be filled.
SKIPPED = {
    "admin/": "the admin: swept below for managers, model by model",
    "api/schema/": "the OpenAPI document: no data",
    "api/docs/": "the Swagger page: no data",
    "i18n/setlang/": "language switch (POST)",
    "jsi18n/": "translations catalogue: no data",
    "favicon.ico": "a redirect to a static file",
    "healthz": "process health: no data",
    "accounts/": "login, logout and password forms: no data",
    "ledger/peer/": "node-to-node PBFT messages (POST, signed)",
    "monitoring/live/peer/": "node-to-node live batches (POST, signed)",
    "ledger/genesis": "the consortium's genesis: public by design",
}
SEGMENT_POOLS = {  # the route segment before `code`, `lookup`, `uid` or `serial` -> its pool
    "piles": "pile", "compliance": "pile", "stations": "station", "grid-areas": "area", "areas": "area",
    "test-boxes": "box", "institutions": "institution", "connectors": "connector", "sessions": "session",
    "work-orders": "workorder", "records": "record", "proof": "record", "statements": "none", "claims": "none",
    "jobs": "none",
}
PARAM_POOLS = {"fingerprint": "fingerprint", "reading_id": "reading", "tx_id": "tx", "height": "height"}
FIXED = {"pk": ["1"], "prefix": ["nosuchprefix"], "fmt": ["csv"]}
PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
PILE_FILTERED = {  # list endpoints also swept with each pile as a filter, and the series ones need one
    "api/monitoring/state/", "api/monitoring/faults/", "api/monitoring/work-orders/", "api/monitoring/availability/",
    "api/calibration/records/", "api/settlement/sessions/", "api/monitoring/readings/",
    "api/monitoring/readings/aggregate/",
}
# The series (readings, aggregates) are the API's CSV exports (?format=csv; elsewhere ?format=csv
# renders the same JSON); settlement's exports have their own routes.
SERIES = {"api/monitoring/readings/", "api/monitoring/readings/aggregate/"}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _clean(route: str) -> str:
    return route.replace("^", "").replace("$", "").replace("\\.", ".")


def _pool_for(route: str, seeded: Seeded, name: str) -> list[str]:
    if name == "tx_id" and "calibration/" in route:
        return seeded.pools["tx_calibration"]
    if name in PARAM_POOLS:
        return seeded.pools[PARAM_POOLS[name]]
    if name in FIXED:
        return FIXED[name]
    if name in ("code", "lookup", "uid", "serial"):
        start = next(m.start() for m in PARAM.finditer(route) if name in m.groups())
        before = _clean(route[:start]).rstrip("/").rsplit("/", 1)[-1]
        if before in SEGMENT_POOLS:
            return seeded.pools[SEGMENT_POOLS[before]]
    raise AssertionError(f"the sweep cannot fill <{name}> in {route!r}: add a pool (or a reason in SKIPPED)")


def _fill(route: str, seeded: Seeded) -> list[str]:
    names = [a or b for a, b in PARAM.findall(route)]
    urls = [route]
    for name in names:
        values = _pool_for(route, seeded, name)
        urls = [PARAM.sub(lambda m, v=v: v, url, count=1) for url in urls for v in values]
    return ["/" + _clean(url) for url in urls]


def routes(seeded: Seeded) -> tuple[list[str], list[str]]:
    """(API URLs, page URLs) to GET."""
    api, pages = [], []
    window = f"from={quote((timezone.now() - dt.timedelta(days=1)).isoformat())}&to={quote((timezone.now() + dt.timedelta(minutes=5)).isoformat())}"
    for route in _walk(get_resolver().url_patterns):
        if "format" in route or any(route.startswith(s) for s in SKIPPED):
            continue  # format suffixes: the same views, swept with ?format=csv
        for url in _fill(route, seeded):
            target = api if url.startswith("/api/") else pages
            base = url[1:]
            variants = [url]
            if base in PILE_FILTERED:
                for pile in (seeded.piles if base == "api/monitoring/readings/" else DEDICATED.values()):
                    query = f"pile={pile}"
                    if base in SERIES:
                        variants += [f"{url}?{query}&measurand={m}&{window}" for m in
                                     ("Power.Active.Import", "Energy.Active.Import.Register")]
                    else:
                        variants.append(f"{url}?{query}")
            if base in SERIES:
                variants += [v + ("&" if "?" in v else "?") + "format=csv" for v in list(variants)]
            target.extend(variants)
    return api, pages


def admin_pages() -> list[str]:
    """The admin's change lists, and the change page of every marked object it holds."""
    marked = {
        Pile: Pile.objects.filter(code__in=DEDICATED.values()),
        Station: Station.objects.filter(code__in=STATION.values()),
        DeviceKey: DeviceKey.objects.filter(pile__code__in=DEDICATED.values()),
        ChargingSession: ChargingSession.objects.filter(pile__code__in=DEDICATED.values()),
        WorkOrder: WorkOrder.objects.filter(pile__code__in=DEDICATED.values()),
        Fault: Fault.objects.filter(pile__code__in=DEDICATED.values()),
    }
    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        for obj in marked.get(model, ()):
            try:
                urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
            except NoReverseMatch:
                pass
    return urls


# --- reading responses -----------------------------------------------------------------------------
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def body_text(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        parts = [raw]
        for chunk in PDF_STREAM.findall(raw):
            try:
                parts.append(zlib.decompress(chunk))
            except zlib.error:
                pass
        raw = b"\n".join(parts)
    return raw.decode("utf-8", errors="replace")


def found(text: str, seeded: Seeded, request_path: str = "") -> set[tuple[str, str]]:
    """The (operator, kind) markers in a response (the request's own path taken out: a page may
    echo what was asked for)."""
    for echo in (request_path, quote(request_path), quote(request_path, safe="")):
        if echo:
            text = text.replace(echo, "")
    hits = set()
    for word, suffix in MARKER.findall(text):
        op = "OP-A" if word.lower() == "alpha" else "OP-B"
        hits.add((op, SUFFIX_KIND.get(suffix.lower(), "unknown:" + suffix)))
    lowered = text.lower()
    asked = request_path.lower()
    for value, key in seeded.ids.items():
        if value in lowered and value not in asked:  # an id the caller gave is not a leak
            hits.add(key)
    for key, pattern in NUMBERS.items():
        if pattern.search(text):
            hits.add(key)
    return hits


@dataclass(frozen=True)
class Principal:
    label: str
    institution: str | None  # None: anonymous; "admin": the platform administrator
    username: str | None
    token: bool


def principals(world) -> list[Principal]:
    out = [Principal("anonymous", None, None, False)]
    for username, user in world.users.items():
        code = user.institution.code if user.institution_id else "admin"
        out.append(Principal(username, code, username, False))
        if user.institution_id and user.staff_role == "manager":
            out.append(Principal(f"{code} token", code, username, True))
    return out


class Sweep:
    def __init__(self, seeded: Seeded):
        self.seeded = seeded
        self.seen = defaultdict(set)  # (principal label, operator, kind) -> where
        self.leaks = []
        self.count = 0
        self.errors = []

    def record(self, principal: Principal, where: str, text: str, path: str = ""):
        self.count += 1
        for op, kind in found(text, self.seeded, path):
            if kind.startswith("unknown:"):
                self.errors.append(f"{where}: a marker of unknown kind {kind}")
                continue
            self.seen[(principal.label, op, kind)].add(where)
            if not allowed(principal.institution, op, kind):
                self.leaks.append(f"{principal.label} ({principal.institution}) got {op}'s {kind} marker at {where}")

    def get(self, principal: Principal, client, url: str):
        response = client.get(url)
        if response.status_code >= 500:
            self.errors.append(f"{principal.label}: GET {url} -> {response.status_code}")
        self.record(principal, f"GET {url}", body_text(response), url.split("?")[0])


def _client(principal: Principal, world, token_keys: dict):
    if principal.token:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_keys[principal.institution]}")
        return client
    client = Client()
    if principal.username:
        client.force_login(world.users[principal.username])
    return client


async def _replay(url: str, path: str, headers: dict, subprotocols: list[str]) -> list[str]:
    """Every message of a stream's replay from the start, up to its "replayed" mark."""
    messages = []
    try:
        ws = await websockets.connect(url + path, origin=url.replace("ws://", "http://"), open_timeout=10,
                                      additional_headers=headers,
                                      subprotocols=subprotocols or None)
    except websockets.InvalidStatus as refused:
        return [f"refused {refused.response.status_code}"]
    try:
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), 5)
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                messages.append("(no replayed mark)")
                break
            messages.append(text)
            if json.loads(text).get("type") == "replayed":
                break
    finally:
        await ws.close()
    return messages


def test_no_principal_sees_another_operators_private_markers(world):
    seeded = seed(world)
    token_keys = {}
    for username, user in world.users.items():
        if user.institution_id and user.staff_role == "manager":
            _, token_keys[user.institution.code] = services.api_token_create(
                actor=user, name=f"{username} sweep", staff_role="viewer")
    everyone = principals(world)
    api, pages = routes(seeded)
    admin_urls = admin_pages()
    sweep = Sweep(seeded)

    for principal in everyone:
        client = _client(principal, world, token_keys)
        for url in api:
            sweep.get(principal, client, url)
        if principal.token:
            continue
        for url in pages:
            sweep.get(principal, client, url)
        user = world.users.get(principal.username)
        if user is not None and user.is_staff:
            for url in admin_urls:
                sweep.get(principal, client, url)

    # the streams' replay, over a real server and websocket client
    async def streams(url, plan):
        return [(principal, path, await _replay(url, path, headers, protocols))
                for principal, path, headers, protocols in plan]

    plan = []
    for principal in everyone:
        if principal.token:
            headers, protocols = {"Authorization": f"Token {token_keys[principal.institution]}"}, []
        elif principal.username:
            headers, protocols = {"Cookie": session_cookie(world.users[principal.username])}, []
        else:
            headers, protocols = {}, []
        for path in ("/ws/alerts/?after=0", "/ws/live/?after=0"):
            plan.append((principal, path, headers, ["pilechain.live"] if "live" in path else protocols))
    with live_server() as url:
        replies = asyncio.run(streams(url, plan))
    stream_count = 0
    for principal, path, messages in replies:
        stream_count += 1
        sweep.record(principal, f"WS {path}", "\n".join(messages))

    swept = (f"{len(api)} API URLs, {len(pages)} pages, {len(admin_urls)} admin pages, {stream_count} stream "
             f"replays; {sweep.count} responses for {len(everyone)} principals")
    assert not sweep.errors, swept + "\n" + "\n".join(sweep.errors[:40])
    assert not sweep.leaks, f"{len(sweep.leaks)} leaks ({swept}):\n" + "\n".join(sorted(set(sweep.leaks))[:80])

    # the audience does see: every allowed principal finds every kind of both operators' markers
    # somewhere, and the regulator, a metrology institute and the operator in the API's detail views
    missing = []
    for principal in everyone:
        if principal.institution is None:
            continue
        for op in OPERATORS:
            for kind in KINDS:
                if (allowed(principal.institution, op, kind) and readable_here(op, kind)
                        and not sweep.seen[(principal.label, op, kind)]):
                    missing.append(f"{principal.label} sees {op}'s {kind} nowhere")
    assert not missing, f"the audience must see what the table shows it ({swept}):\n" + "\n".join(missing)
    details = {
        "pile": "/api/piles/{pile}/", "station": "/api/stations/{station}/", "live": "/api/monitoring/state/?pile={pile}",
        "fault": "/api/monitoring/work-orders/{workorder}/", "calib": "/api/calibration/records/?pile={pile}",
        "session": "/api/settlement/sessions/{session}/",
        # the streams' replay: the live state (power, energy, a dedicated pile's status) and the faults
        "live ": "WS /ws/live/?after=0", "fault ": "WS /ws/alerts/?after=0",
    }
    for op in OPERATORS:
        values = {"pile": DEDICATED[op], "station": STATION[op],
                  "workorder": WorkOrder.objects.get(pile__code=DEDICATED[op]).uid,
                  "session": ChargingSession.objects.get(pile__code=DEDICATED[op]).uid}
        for label in ("reg_manager", "metro_manager", {"OP-A": "a_manager", "OP-B": "b_manager"}[op], f"{op} token"):
            for kind, template in details.items():
                if not readable_here(op, kind.strip()):
                    continue
                where = template.format(**values)
                where = where if where.startswith("WS ") else f"GET {where}"
                holders = {p for (who, o, k), places in sweep.seen.items()
                           if who == label and o == op and k == kind.strip() for p in places}
                assert where in holders, f"{label} does not see {op}'s {kind} at {where} ({swept})"
