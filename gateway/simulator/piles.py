"""One simulated charge point per protocol version: answers the central system's commands and
drives its own life (boot, heartbeats, charging sessions, meter values, faults)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import random
from dataclasses import dataclass, field

from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from gateway.simulator.ocmf_signer import signed_register_record, signed_session_record


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(when: dt.datetime | None = None) -> str:
    return (when or now()).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Plan:
    """How a pile behaves; the fleet varies these per pile."""

    heartbeat_s: float = 60
    meter_interval_s: float = 5
    meters_per_session: int = 6
    idle_s: float = 5
    fault_rate: float = 0.05  # chance per session of a fault
    power_w: int = 7000
    samples_per_message: int = 4  # at most 10
    # Clock-aligned register readings every this many seconds from midnight UTC (0: none); signed by
    # piles whose meter signs. The interval reports carry them (docs/intervals.md).
    aligned_s: float = 900


@dataclass
class Stats:
    booted: bool = False
    sessions: int = 0
    meter_messages: int = 0
    samples: int = 0
    faults: int = 0
    errors: list[str] = field(default_factory=list)


class _Behaviour:
    """The parts common to both versions; subclasses send the version's messages."""

    def init_sim(self, code: str, connectors: list[int], plan: Plan, meter_key, rng: random.Random):
        self.code, self.connectors, self.plan, self.meter_key, self.rng = code, connectors, plan, meter_key, rng
        self.register_wh = rng.randint(1_000, 5_000_000)
        self.stats = Stats()
        self.available = True
        self.pagination = 0
        self.limit = None  # (from, until, W): the charge point maximum profile in force, if any

    def _samples(self, energy_wh: int, power_w: int) -> list[tuple[str, str, str, str | None]]:
        """(measurand, value, unit, phase) for one reading time."""
        values = [
            ("Energy.Active.Import.Register", str(energy_wh), "Wh", None),
            ("Power.Active.Import", str(power_w), "W", None),
            ("Voltage", f"{self.rng.uniform(225, 235):.1f}", "V", "L1-N"),
            ("Current.Import", f"{power_w / 230:.1f}", "A", "L1"),
            ("Voltage", f"{self.rng.uniform(225, 235):.1f}", "V", "L2-N"),
            ("Voltage", f"{self.rng.uniform(225, 235):.1f}", "V", "L3-N"),
            ("Current.Import", f"{power_w / 230:.1f}", "A", "L2"),
            ("Current.Import", f"{power_w / 230:.1f}", "A", "L3"),
            ("Power.Active.Import", str(power_w // 3), "W", "L1"),
            ("Power.Active.Import", str(power_w // 3), "W", "L2"),
        ]
        return values[: max(1, min(10, self.plan.samples_per_message))]

    def set_limit(self, schedule: dict) -> str:
        """A charge point maximum profile (absolute, in W): obeyed from its start for its duration."""
        try:
            start = dt.datetime.fromisoformat(schedule["start_schedule"].replace("Z", "+00:00"))
            watts = float(schedule["charging_schedule_period"][0]["limit"])
            end = start + dt.timedelta(seconds=int(schedule.get("duration") or 86400))
        except (KeyError, IndexError, TypeError, ValueError):
            return "Rejected"
        if schedule.get("charging_rate_unit") != "W":
            return "Rejected"
        self.limit = (start, end, watts)
        return "Accepted"

    def capped(self, power_w: int) -> int:
        """The power drawn: at most the profile's limit while it is in force."""
        if self.limit is not None:
            start, end, watts = self.limit
            if start <= now() < end:
                return min(power_w, int(watts))
        return power_w

    def signed_record(self, id_tag, begin, end) -> str | None:
        if self.meter_key is None:
            return None
        self.pagination += 1
        return signed_session_record(
            self.meter_key, meter_serial=f"{self.code}-M", pagination=self.pagination, id_tag=id_tag, begin=begin,
            end=end,
        )

    async def heartbeats(self):
        while True:
            await asyncio.sleep(self.plan.heartbeat_s)
            await self.beat()

    async def aligned(self):
        """At every multiple of plan.aligned_s (UTC), each connector's energy register, signed when the
        meter signs (OCPP's ClockAlignedDataInterval / AlignedDataInterval)."""
        step = self.plan.aligned_s
        while True:
            t = now().timestamp()
            boundary = (int(t // step) + 1) * step
            await asyncio.sleep(boundary - t)
            at = dt.datetime.fromtimestamp(boundary, dt.timezone.utc)
            for cid in self.connectors:
                record = None
                if self.meter_key is not None:
                    self.pagination += 1
                    record = signed_register_record(self.meter_key, meter_serial=f"{self.code}-M",
                                                    pagination=self.pagination, at=at, wh=self.register_wh)
                await self.aligned_value(cid, at, self.register_wh, record)

    async def life(self, sessions: int | None = None):
        await self.boot()
        self.stats.booted = True
        tasks = [asyncio.create_task(self.heartbeats())]
        if self.plan.aligned_s:
            tasks.append(asyncio.create_task(self.aligned()))
        try:
            for cid in self.connectors:
                await self.status(cid, "Available", "")
            done = 0
            while sessions is None or done < sessions:
                if self.available:
                    await self.session(self.rng.choice(self.connectors))
                    done += 1
                    if self.rng.random() < self.plan.fault_rate:
                        cid = self.rng.choice(self.connectors)
                        await self.status(cid, "Faulted", self.rng.choice(self.FAULT_CODES))
                        self.stats.faults += 1
                        await asyncio.sleep(self.plan.idle_s)
                        await self.status(cid, "Available", "")
                await asyncio.sleep(self.plan.idle_s * self.rng.uniform(0.5, 1.5))
        finally:
            for task in tasks:
                task.cancel()


class SimPile16(_Behaviour, Cp16):
    async def aligned_value(self, cid, at, wh, record):
        sampled = [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Clock"}]
        if record:
            sampled.append({"value": record, "format": "SignedData", "context": "Sample.Clock"})
        await self.call(call16.MeterValues(connector_id=cid, meter_value=[{"timestamp": iso(at), "sampled_value": sampled}]))
    FAULT_CODES = ("GroundFailure", "HighTemperature", "OverCurrentFailure", "PowerMeterFailure", "OtherError")

    async def boot(self):
        answer = await self.call(call16.BootNotification(charge_point_model="SIM-16", charge_point_vendor="pilechain"))
        if answer.status != "Accepted":
            raise RuntimeError(f"{self.code}: boot {answer.status}")

    async def beat(self):
        await self.call(call16.Heartbeat())

    async def status(self, cid, status, error_code):
        await self.call(call16.StatusNotification(
            connector_id=cid, status=status, error_code=error_code or "NoError", timestamp=iso(),
        ))

    async def session(self, cid):
        tag = f"TAG-{self.rng.randint(1, 999):03d}"
        begin = (now(), self.register_wh)
        start = await self.call(call16.StartTransaction(connector_id=cid, id_tag=tag, meter_start=self.register_wh,
                                                        timestamp=iso(begin[0])))
        if start.id_tag_info["status"] != "Accepted":
            self.stats.errors.append(f"start refused: {start.id_tag_info}")
            return
        await self.status(cid, "Charging", "")
        for _ in range(self.plan.meters_per_session):
            await asyncio.sleep(self.plan.meter_interval_s)
            power = self.capped(int(self.plan.power_w * self.rng.uniform(0.8, 1.0)))
            self.register_wh += int(power * self.plan.meter_interval_s / 3600) + 1
            values = self._samples(self.register_wh, power)
            await self.call(call16.MeterValues(connector_id=cid, transaction_id=start.transaction_id, meter_value=[{
                "timestamp": iso(),
                "sampled_value": [
                    {"value": v, "measurand": m, "unit": u, **({"phase": p} if p else {}), "context": "Sample.Periodic"}
                    for m, v, u, p in values
                ],
            }]))
            self.stats.meter_messages += 1
            self.stats.samples += len(values)
        # The meter signs no identification: the gateway keeps records naming the raw tag off the ledger
        # (PIPL), where the session carries the operator node's pseudonym of the tag instead.
        record = self.signed_record("", begin, (now(), self.register_wh))
        data = [{"timestamp": iso(), "sampled_value": [{"value": record, "format": "SignedData",
                                                         "context": "Transaction.End"}]}] if record else None
        await self.call(call16.StopTransaction(
            meter_stop=self.register_wh, timestamp=iso(), transaction_id=start.transaction_id, reason="EVDisconnected",
            id_tag=tag, transaction_data=data,
        ))
        await self.status(cid, "Available", "")
        self.stats.sessions += 1

    @on("Reset")
    def on_reset(self, type, **_):
        return result16.Reset(status="Accepted")

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id, cs_charging_profiles, **_):
        if cs_charging_profiles.get("charging_profile_purpose") != "ChargePointMaxProfile" or connector_id != 0:
            return result16.SetChargingProfile(status="NotSupported")
        return result16.SetChargingProfile(status=self.set_limit(cs_charging_profiles.get("charging_schedule") or {}))

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id, type, **_):
        self.available = type == "Operative"
        return result16.ChangeAvailability(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, connector_id, **_):
        return result16.UnlockConnector(status="Unlocked" if connector_id in self.connectors else "NotSupported")

    @on("TriggerMessage")
    def on_trigger(self, requested_message, connector_id=None, **_):
        if requested_message == "Heartbeat":
            asyncio.get_running_loop().create_task(self.beat())
        elif requested_message == "StatusNotification":
            for cid in [connector_id] if connector_id else self.connectors:
                asyncio.get_running_loop().create_task(self.status(cid, "Available", ""))
        return result16.TriggerMessage(status="Accepted")


class SimPile201(_Behaviour, Cp201):
    async def aligned_value(self, cid, at, wh, record):
        value = {"value": float(wh), "measurand": "Energy.Active.Import.Register", "context": "Sample.Clock",
                 "unit_of_measure": {"unit": "Wh"}}
        if record:
            value["signed_meter_value"] = {"signed_meter_data": base64.b64encode(record.encode()).decode(),
                                           "signing_method": "ECDSA-secp256r1-SHA256", "encoding_method": "OCMF",
                                           "public_key": ""}
        await self.call(call201.MeterValues(evse_id=cid, meter_value=[{"timestamp": iso(at), "sampled_value": [value]}]))
    FAULT_CODES = ("GroundFault", "OverTemperature", "OverCurrent", "MeterFailure")

    async def boot(self):
        answer = await self.call(call201.BootNotification(
            charging_station={"model": "SIM-201", "vendor_name": "pilechain"}, reason="PowerUp"
        ))
        if answer.status != "Accepted":
            raise RuntimeError(f"{self.code}: boot {answer.status}")

    async def beat(self):
        await self.call(call201.Heartbeat())

    async def status(self, cid, status, error_code):
        if status == "Faulted":
            await self.call(call201.NotifyEvent(generated_at=iso(), seq_no=0, event_data=[{
                "event_id": self.rng.randint(1, 10**6), "timestamp": iso(), "trigger": "Delta", "actual_value": "Faulted",
                "event_notification_type": "HardWiredNotification", "tech_code": error_code,
                "component": {"name": "Connector", "evse": {"id": cid, "connector_id": 1}},
                "variable": {"name": "AvailabilityState"},
            }]))
            return
        await self.call(call201.StatusNotification(
            timestamp=iso(), connector_status="Occupied" if status == "Charging" else status, evse_id=cid, connector_id=1,
        ))

    def _meter_value(self, energy_wh, power, signed: str | None = None):
        sampled = []
        for m, v, u, p in self._samples(energy_wh, power):
            item = {"value": float(v), "measurand": m, "unit_of_measure": {"unit": u}}
            if p:
                item["phase"] = p
            sampled.append(item)
        if signed:
            sampled[0]["signed_meter_value"] = {
                "signed_meter_data": base64.b64encode(signed.encode()).decode(),
                "signing_method": "ECDSA-secp256r1-SHA256", "encoding_method": "OCMF", "public_key": "",
            }
        return [{"timestamp": iso(), "sampled_value": sampled}]

    async def session(self, cid):
        tag = f"TAG-{self.rng.randint(1, 999):03d}"
        tx = {"transaction_id": f"{self.code}-{self.rng.getrandbits(40):010x}"}
        evse = {"id": cid, "connector_id": 1}
        begin = (now(), self.register_wh)
        await self.call(call201.TransactionEvent(
            event_type="Started", timestamp=iso(begin[0]), trigger_reason="Authorized", seq_no=0, transaction_info=tx,
            evse=evse, id_token={"id_token": tag, "type": "ISO14443"},
            meter_value=[{"timestamp": iso(begin[0]), "sampled_value": [{
                "value": float(self.register_wh), "measurand": "Energy.Active.Import.Register",
                "context": "Transaction.Begin", "unit_of_measure": {"unit": "Wh"}}]}],
        ))
        for seq in range(1, self.plan.meters_per_session + 1):
            await asyncio.sleep(self.plan.meter_interval_s)
            power = self.capped(int(self.plan.power_w * self.rng.uniform(0.8, 1.0)))
            self.register_wh += int(power * self.plan.meter_interval_s / 3600) + 1
            value = self._meter_value(self.register_wh, power)
            await self.call(call201.TransactionEvent(
                event_type="Updated", timestamp=iso(), trigger_reason="MeterValuePeriodic", seq_no=seq,
                transaction_info=tx, evse=evse, meter_value=value,
            ))
            self.stats.meter_messages += 1
            self.stats.samples += len(value[0]["sampled_value"])
        # The meter signs no identification: the gateway keeps records naming the raw tag off the ledger
        # (PIPL), where the session carries the operator node's pseudonym of the tag instead.
        record = self.signed_record("", begin, (now(), self.register_wh))
        await self.call(call201.TransactionEvent(
            event_type="Ended", timestamp=iso(), trigger_reason="EVCommunicationLost",
            seq_no=self.plan.meters_per_session + 1, transaction_info={**tx, "stopped_reason": "EVDisconnected"},
            evse=evse, meter_value=[{"timestamp": iso(), "sampled_value": [{
                "value": float(self.register_wh), "measurand": "Energy.Active.Import.Register",
                "context": "Transaction.End", "unit_of_measure": {"unit": "Wh"},
                **({"signed_meter_value": {
                    "signed_meter_data": base64.b64encode(record.encode()).decode(),
                    "signing_method": "ECDSA-secp256r1-SHA256", "encoding_method": "OCMF", "public_key": ""}}
                   if record else {}),
            }]}],
        ))
        self.stats.sessions += 1

    @on("Reset")
    def on_reset(self, type, **_):
        return result201.Reset(status="Accepted")

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id, charging_profile, **_):
        if charging_profile.get("charging_profile_purpose") != "ChargingStationMaxProfile" or evse_id != 0:
            return result201.SetChargingProfile(status="Rejected")
        schedules = charging_profile.get("charging_schedule") or [{}]
        return result201.SetChargingProfile(status=self.set_limit(schedules[0]))

    @on("ChangeAvailability")
    def on_change_availability(self, operational_status, evse=None, **_):
        self.available = operational_status == "Operative"
        return result201.ChangeAvailability(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, evse_id, connector_id, **_):
        return result201.UnlockConnector(status="Unlocked")

    @on("TriggerMessage")
    def on_trigger(self, requested_message, evse=None, **_):
        if requested_message == "Heartbeat":
            asyncio.get_running_loop().create_task(self.beat())
        return result201.TriggerMessage(status="Accepted")
