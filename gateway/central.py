"""The central system's OCPP handlers, one ChargePoint class per protocol version (the `ocpp`
package validates each request and response against the version's JSON schemas and routes by
action). Handlers only answer: anything to send to the pile runs as a separate task."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from gateway import events, group_commit, sampling, telemetry
from gateway.conf import heartbeat_interval
from gateway.dbthreads import db
from gateway.sampling import parse_time


def _now() -> dt.datetime:
    return timezone.now()


TOUCH_EVERY_S = 30


class _Touch:
    """Keeps the pile's last-seen time on the gateway page fresh without a write per message."""

    _touched = 0.0

    async def touch(self):
        now = time.monotonic()
        if now - self._touched >= TOUCH_EVERY_S:
            self._touched = now
            await group_commit.touch(self.pile_code)

    async def meter(self, connector_id, samples, *, transaction_id, signed, energy_wh):
        """Readings go to monitoring in a group commit with other piles' (gateway.group_commit); what
        they add to an OCPP transaction is written after them."""
        await group_commit.meter_values(pile_code=self.pile_code, connector_id=connector_id, samples=samples)
        if transaction_id is not None and (signed or energy_wh is not None):
            await db(events.meter_transaction)(self.pile_code, transaction_id=transaction_id, signed=signed,
                                               energy_wh=energy_wh)
        elif transaction_id is None and signed:
            # Signed readings outside a transaction: the clock-aligned register the interval reports carry.
            await db(telemetry.signed_readings)(pile_code=self.pile_code, connector_id=connector_id, records=signed)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class CentralSystem16(_Touch, ChargePoint16):
    protocol = "ocpp1.6"

    def __init__(self, pile_code: str, connection, evse_of: dict):
        super().__init__(pile_code, connection)
        self.pile_code = pile_code
        self.evse_of = evse_of

    @on(Action16.boot_notification)
    async def on_boot(self, charge_point_vendor, charge_point_model, firmware_version=None, **_):
        status = await db(events.boot)(
            self.pile_code, vendor=charge_point_vendor, model=charge_point_model, firmware=firmware_version or ""
        )
        return result16.BootNotification(current_time=_iso(_now()), interval=heartbeat_interval(), status=status)

    @on(Action16.heartbeat)
    async def on_heartbeat(self, **_):
        await group_commit.seen(self.pile_code)
        return result16.Heartbeat(current_time=_iso(_now()))

    @on(Action16.status_notification)
    async def on_status(self, connector_id, error_code, status, info=None, timestamp=None, vendor_error_code=None, **_):
        detail = " ".join(x for x in (info, vendor_error_code) if x)
        await group_commit.status(
            self.pile_code, connector_id=connector_id, status=status,
            error_code="" if error_code == "NoError" else error_code, info=detail,
            timestamp=parse_time(timestamp, _now()), source=self.protocol,
        )
        return result16.StatusNotification()

    @on(Action16.meter_values)
    async def on_meter_values(self, connector_id, meter_value, transaction_id=None, **_):
        samples, signed = sampling.from_v16(meter_value, _now())
        await self.meter(connector_id, samples, transaction_id=transaction_id, signed=signed,
                         energy_wh=sampling.energy_wh(samples))
        await self.touch()
        return result16.MeterValues()

    @on(Action16.authorize)
    async def on_authorize(self, id_tag, **_):
        return result16.Authorize(id_tag_info={"status": await db(events.authorize)(self.pile_code, id_tag)})

    @on(Action16.start_transaction)
    async def on_start(self, connector_id, id_tag, meter_start, timestamp, **_):
        tx_id, status = await db(events.start_transaction_v16)(
            self.pile_code, connector_id=connector_id, id_tag=id_tag, meter_start=meter_start,
            timestamp=parse_time(timestamp, _now()),
        )
        return result16.StartTransaction(transaction_id=tx_id, id_tag_info={"status": status})

    @on(Action16.stop_transaction)
    async def on_stop(self, meter_stop, timestamp, transaction_id, reason=None, id_tag=None, transaction_data=None, **_):
        samples, signed = sampling.from_v16(transaction_data or [], _now())
        await db(events.stop_transaction_v16)(
            self.pile_code, transaction_id=transaction_id, meter_stop=meter_stop,
            timestamp=parse_time(timestamp, _now()), reason=reason or "", signed=signed,
        )
        if id_tag:
            return result16.StopTransaction(id_tag_info={"status": "Accepted"})
        return result16.StopTransaction()


class CentralSystem201(_Touch, ChargePoint201):
    protocol = "ocpp2.0.1"

    def __init__(self, pile_code: str, connection, evse_of: dict):
        super().__init__(pile_code, connection)
        self.pile_code = pile_code
        self.evse_of = evse_of
        self.connector_of = {evse: cid for cid, evse in evse_of.items()}

    def _connector(self, evse_id: int | None, connector_id: int | None = None) -> int:
        """2.0.1 (EVSE, connector) to the registry's 1.6-style connector id; 0 is the whole station."""
        if not evse_id:
            return 0
        if (evse_id, connector_id or 1) in self.connector_of:
            return self.connector_of[(evse_id, connector_id or 1)]
        same_evse = sorted(cid for (e, _), cid in self.connector_of.items() if e == evse_id)
        return same_evse[0] if same_evse else evse_id

    @on(Action201.boot_notification)
    async def on_boot(self, charging_station, reason, **_):
        status = await db(events.boot)(
            self.pile_code, vendor=charging_station.get("vendor_name", ""), model=charging_station.get("model", ""),
            firmware=charging_station.get("firmware_version", ""),
        )
        return result201.BootNotification(current_time=_iso(_now()), interval=heartbeat_interval(), status=status)

    @on(Action201.heartbeat)
    async def on_heartbeat(self, **_):
        await group_commit.seen(self.pile_code)
        return result201.Heartbeat(current_time=_iso(_now()))

    @on(Action201.status_notification)
    async def on_status(self, timestamp, connector_status, evse_id, connector_id, **_):
        await group_commit.status(
            self.pile_code, connector_id=self._connector(evse_id, connector_id), status=connector_status,
            error_code="", info="", timestamp=parse_time(timestamp, _now()), source=self.protocol,
        )
        return result201.StatusNotification()

    @on(Action201.notify_event)
    async def on_notify_event(self, generated_at, seq_no, event_data, tbc=False, **_):
        for event in event_data:
            variable = (event.get("variable") or {}).get("name", "")
            component = event.get("component") or {}
            value = str(event.get("actual_value", ""))
            if variable == "AvailabilityState":
                status = value
            elif variable in ("Problem", "Fault") and value.lower() == "true" and not event.get("cleared"):
                status = "Faulted"
            elif variable in ("Problem", "Fault"):
                status = "Available"
            else:
                continue
            evse = component.get("evse") or {}
            await group_commit.status(
                self.pile_code, connector_id=self._connector(evse.get("id"), evse.get("connector_id")), status=status,
                error_code=(event.get("tech_code") or (variable if status == "Faulted" else ""))[:64],
                info=(event.get("tech_info") or "")[:500], timestamp=parse_time(event.get("timestamp"), _now()),
                source=self.protocol,
            )
        return result201.NotifyEvent()

    @on(Action201.meter_values)
    async def on_meter_values(self, evse_id, meter_value, **_):
        samples, signed = sampling.from_v201(meter_value, _now())
        await self.meter(self._connector(evse_id), samples, transaction_id=None, signed=signed, energy_wh=None)
        await self.touch()
        return result201.MeterValues()

    @on(Action201.authorize)
    async def on_authorize(self, id_token, **_):
        status = await db(events.authorize)(self.pile_code, id_token.get("id_token", ""))
        return result201.Authorize(id_token_info={"status": status})

    @on(Action201.transaction_event)
    async def on_transaction_event(self, event_type, timestamp, trigger_reason, seq_no, transaction_info,
                                   evse=None, id_token=None, meter_value=None, **_):
        samples, signed = sampling.from_v201(meter_value or [], _now())
        connector_id = self._connector(evse["id"], evse.get("connector_id")) if evse else None
        if samples and connector_id:
            await self.meter(connector_id, samples, transaction_id=None, signed=[], energy_wh=None)
        status = await db(events.transaction_event_v201)(
            self.pile_code, event_type=event_type, transaction_id=transaction_info["transaction_id"],
            connector_id=connector_id, id_tag=(id_token or {}).get("id_token", ""),
            timestamp=parse_time(timestamp, _now()), energy_wh=sampling.energy_wh(samples), signed=signed,
            reason=transaction_info.get("stopped_reason") or trigger_reason,
        )
        if id_token:
            return result201.TransactionEvent(id_token_info={"status": status})
        return result201.TransactionEvent()
