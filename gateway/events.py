"""What the central system does with each OCPP message, on the database side (synchronous; the
OCPP handlers call these on the gateway's database threads, gateway.dbthreads; the `_many` ones in a
group commit with other piles' messages, gateway.group_commit)."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import ocmf
from core.errors import ServiceError
from gateway import passwords, telemetry
from gateway.models import ChargePointCredential, OcppTransaction, Presence
from registry.models import Connector, Pile
from registry.models.piles import PileStatus
from settlement.services import sessions as settlement

logger = logging.getLogger("pilechain.gateway")


# --- connection ---------------------------------------------------------------------------------
def authenticate(charge_point_id: str, username: str | None, password: str | None) -> str | None:
    """The pile's code if the pile is registered, not retired, and the password matches; else None."""
    pile = Pile.objects.filter(code__iexact=charge_point_id).only("code", "status").first()
    if pile is None or pile.status == PileStatus.RETIRED or password is None:
        return None
    if username is not None and username.upper() != pile.code.upper():
        return None
    credential = ChargePointCredential.objects.filter(pile_code=pile.code.upper()).first()
    if credential is None or not passwords.matches(password, credential.password_hash):
        return None
    return pile.code


def connected(pile_code: str, protocol: str) -> tuple[dict[int, tuple[int, int]], dt.datetime]:
    """Mark the pile connected. Returns its connectors as 1.6 id -> (EVSE id, connector on the EVSE),
    and the connection's start, which identifies it."""
    now = timezone.now()
    with transaction.atomic():
        Presence.objects.update_or_create(
            pile_code=pile_code.upper(),
            defaults={"protocol": protocol, "connected": True, "connected_at": now, "last_seen": now},
        )
        telemetry.connection(pile_code=pile_code, up=True, at=now)
    evse_of = {
        c.connector_id: (c.evse_id, c.evse_connector_id)
        for c in Connector.objects.filter(pile__code=pile_code).only("connector_id", "evse_id", "evse_connector_id")
    }
    return evse_of, now


def disconnected(pile_code: str, since: dt.datetime) -> None:
    """Mark the pile offline, unless a newer connection of it has replaced this one meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        if Presence.objects.filter(pile_code=pile_code.upper(), connected_at=since).update(connected=False, last_seen=now):
            telemetry.connection(pile_code=pile_code, up=False, at=now)


def seen_many(pile_codes: list[str]) -> list:
    """Heartbeats of several piles at once (a group commit): on the gateway page and in monitoring."""
    touch_many(pile_codes)
    telemetry.heartbeats(pile_codes=pile_codes)
    return [None] * len(pile_codes)


# --- messages -----------------------------------------------------------------------------------
def boot(pile_code: str, *, vendor: str, model: str, firmware: str) -> str:
    pile = Pile.objects.filter(code=pile_code).only("status").first()
    accepted = pile is not None and pile.status != PileStatus.RETIRED
    Presence.objects.filter(pile_code=pile_code.upper()).update(
        boot_status="Accepted" if accepted else "Rejected", vendor=(vendor or "")[:50], model=(model or "")[:50],
        firmware=(firmware or "")[:50], last_seen=timezone.now(),
    )
    return "Accepted" if accepted else "Rejected"


def status_many(messages: list[dict]) -> list:
    """Status changes of several piles at once ({"pile_code", "connector_id", "status", "error_code",
    "info", "timestamp", "source"} each): each connector's status on the gateway page, then monitoring
    (telemetry.statuses). Returns, per message, its result or the OCPP error refusing it (alone)."""
    now = timezone.now()
    with transaction.atomic():
        codes = sorted({m["pile_code"].upper() for m in messages})
        presences = {p.pile_code: p for p in
                     Presence.objects.select_for_update().filter(pile_code__in=codes).order_by("pile_code")}
        for m in messages:
            presence = presences.get(m["pile_code"].upper())
            if presence is not None:
                presence.connectors[str(m["connector_id"])] = {
                    "status": m["status"], "error_code": m["error_code"] or "", "at": m["timestamp"].isoformat(),
                }
                presence.last_seen = now
        Presence.objects.bulk_update(list(presences.values()), ["connectors", "last_seen"])
    return telemetry.statuses(messages)


def meter_transaction(pile_code: str, *, transaction_id: str | None, signed: list[str], energy_wh: int | None) -> None:
    """What a MeterValues adds to the OCPP transaction it belongs to (signed records, last energy)."""
    if transaction_id is not None and (signed or energy_wh is not None):
        with transaction.atomic():
            row = OcppTransaction.objects.select_for_update().filter(
                pile_code=pile_code, transaction_id=str(transaction_id)
            ).first()
            if row is not None:
                row.signed_data = (row.signed_data + signed)[-20:]
                if energy_wh is not None:
                    row.last_energy_wh = energy_wh
                row.save(update_fields=["signed_data", "last_energy_wh"])


def touch_many(pile_codes: list[str]) -> list:
    """The piles' last-seen time on the gateway page."""
    Presence.objects.filter(pile_code__in=sorted({c.upper() for c in pile_codes})).update(last_seen=timezone.now())
    return [None] * len(pile_codes)


def authorize(pile_code: str, id_tag: str) -> str:
    status = "Accepted" if id_tag else "Invalid"
    telemetry.authorization(pile_code=pile_code, accepted=status == "Accepted", at=timezone.now())
    return status


# --- transactions and charging sessions ---------------------------------------------------------
def _known_connector(pile_code: str, connector_id: int) -> bool:
    return Connector.objects.filter(pile__code=pile_code, connector_id=connector_id).exists()


def _open_session(row: OcppTransaction, protocol: str) -> None:
    try:
        submission, uid = settlement.session_open(
            pile=row.pile_code, connector_id=row.connector_id, transaction_id=row.transaction_id, id_tag=row.id_tag,
            protocol=protocol, started_at=row.started_at, meter_start_wh=row.meter_start_wh,
        )
    except (ValidationError, PermissionDenied, ServiceError) as exc:
        logger.error("session of %s tx %s not recorded: %s", row.pile_code, row.transaction_id, exc)
        row.problem = str(exc)[:300]
        row.save(update_fields=["problem"])
        return
    row.session_uid, row.open_tx = uid, submission.tx_id
    row.save(update_fields=["session_uid", "open_tx"])


def carries_id_tag(record: str, id_tag: str) -> bool:
    """True when a meter's OCMF record names the driver's raw id tag (its identification data, or
    anywhere in a record too malformed to read)."""
    if not id_tag:
        return False
    try:
        return ocmf.parse(record).payload.identification_data == id_tag
    except ocmf.OcmfError:
        return id_tag in record


def ledger_records(row: OcppTransaction) -> list[str]:
    """The meter's records that may go on the ledger: a record signing the raw id tag would put the
    driver's card number before every member (PIPL), and a signed record cannot be edited, so it stays
    here, in the node-local OCPP transaction, and the session closes without it (its meters should
    sign no identification, or a pseudonymous one)."""
    kept = [r for r in row.signed_data if not carries_id_tag(r, row.id_tag)]
    if len(kept) < len(row.signed_data):
        withheld = len(row.signed_data) - len(kept)
        logger.warning("%s tx %s: %d signed record(s) name the raw id tag and stay off the ledger",
                       row.pile_code, row.transaction_id, withheld)
        row.problem = f"{withheld} signed record(s) name the raw id tag: kept off the ledger"[:300]
    return kept


def _close_session(row: OcppTransaction, *, stopped_at: dt.datetime, meter_stop_wh: int, reason: str) -> None:
    row.stopped = True
    if row.session_uid is None:
        row.problem = (row.problem or "the session was never opened")[:300]
        row.save(update_fields=["stopped", "problem"])
        return
    try:
        submission = settlement.session_close(
            pile=row.pile_code, session=row.session_uid, stopped_at=stopped_at, meter_stop_wh=meter_stop_wh,
            stop_reason=reason, signed_data=ledger_records(row),
        )
    except (ValidationError, PermissionDenied, ServiceError) as exc:
        logger.error("closing of %s tx %s not recorded: %s", row.pile_code, row.transaction_id, exc)
        row.problem = str(exc)[:300]
        row.save(update_fields=["stopped", "problem"])
        return
    row.close_tx = submission.tx_id
    row.save(update_fields=["stopped", "close_tx", "problem", "signed_data"])


def start_transaction_v16(pile_code: str, *, connector_id: int, id_tag: str, meter_start: int,
                          timestamp: dt.datetime) -> tuple[int, str]:
    """1.6: this node hands out the transaction id (the row's primary key)."""
    if not _known_connector(pile_code, connector_id) or meter_start < 0:
        return 0, "Invalid"
    with transaction.atomic():
        row = OcppTransaction.objects.create(
            pile_code=pile_code, transaction_id=f"pending-{timezone.now().timestamp()}-{connector_id}",
            connector_id=connector_id, id_tag=id_tag or "", started_at=timestamp, meter_start_wh=meter_start,
        )
        row.transaction_id = str(row.pk)
        row.save(update_fields=["transaction_id"])
    _open_session(row, "ocpp1.6")
    return row.pk, "Accepted"


def stop_transaction_v16(pile_code: str, *, transaction_id: int, meter_stop: int, timestamp: dt.datetime,
                         reason: str, signed: list[str]) -> bool:
    with transaction.atomic():
        row = OcppTransaction.objects.select_for_update().filter(
            pile_code=pile_code, transaction_id=str(transaction_id), stopped=False
        ).first()
        if row is None:
            return False
        row.signed_data = (row.signed_data + signed)[-20:]
        _close_session(row, stopped_at=timestamp, meter_stop_wh=meter_stop, reason=reason or "Local")
    return True


def transaction_event_v201(pile_code: str, *, event_type: str, transaction_id: str, connector_id: int | None,
                           id_tag: str, timestamp: dt.datetime, energy_wh: int | None, signed: list[str],
                           reason: str) -> str:
    """2.0.1: the pile names the transaction. Returns the id token status to answer."""
    with transaction.atomic():
        row = OcppTransaction.objects.select_for_update().filter(
            pile_code=pile_code, transaction_id=transaction_id
        ).first()
        if row is None:
            if event_type == "Ended" and energy_wh is None:
                return "Invalid"
            if connector_id is None or not _known_connector(pile_code, connector_id):
                return "Invalid"
            try:
                with transaction.atomic():
                    row = OcppTransaction.objects.create(
                        pile_code=pile_code, transaction_id=transaction_id, connector_id=connector_id,
                        id_tag=id_tag or "", started_at=timestamp, meter_start_wh=energy_wh or 0,
                    )
            except IntegrityError:
                return "Invalid"
            _open_session(row, "ocpp2.0.1")
        if id_tag and not row.id_tag:
            row.id_tag = id_tag[:64]
        row.signed_data = (row.signed_data + signed)[-20:]
        if energy_wh is not None:
            row.last_energy_wh = energy_wh
        row.save(update_fields=["id_tag", "signed_data", "last_energy_wh"])
        if event_type == "Ended" and not row.stopped:
            stop_wh = energy_wh if energy_wh is not None else (row.last_energy_wh or row.meter_start_wh)
            _close_session(row, stopped_at=timestamp, meter_stop_wh=stop_wh, reason=reason or "Local")
    return "Accepted"
