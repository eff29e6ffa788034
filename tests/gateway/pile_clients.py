"""Charge points as a real pile runs them: the `ocpp` package's client classes over websockets."""

from __future__ import annotations

import asyncio

from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call_result as result201


class Pile16(Cp16):
    """Answers the central system's commands the way a simple 1.6 pile does; records what it got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []

    @on("Reset")
    def on_reset(self, type, **_):
        self.received.append(("Reset", {"type": type}))
        return result16.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id, type, **_):
        self.received.append(("ChangeAvailability", {"connector_id": connector_id, "type": type}))
        return result16.ChangeAvailability(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, connector_id, **_):
        self.received.append(("UnlockConnector", {"connector_id": connector_id}))
        return result16.UnlockConnector(status="Unlocked" if connector_id == 1 else "NotSupported")

    @on("TriggerMessage")
    def on_trigger(self, requested_message, connector_id=None, **_):
        self.received.append(("TriggerMessage", {"requested_message": requested_message}))
        return result16.TriggerMessage(status="Accepted")


class Pile201(Cp201):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []

    @on("Reset")
    def on_reset(self, type, **_):
        self.received.append(("Reset", {"type": type}))
        return result201.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, operational_status, evse=None, **_):
        self.received.append(("ChangeAvailability", {"operational_status": operational_status, "evse": evse}))
        return result201.ChangeAvailability(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, evse_id, connector_id, **_):
        self.received.append(("UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id}))
        return result201.UnlockConnector(status="Unlocked")

    @on("TriggerMessage")
    def on_trigger(self, requested_message, evse=None, **_):
        self.received.append(("TriggerMessage", {"requested_message": requested_message, "evse": evse}))
        return result201.TriggerMessage(status="Accepted")


def serve(cp) -> asyncio.Task:
    return asyncio.create_task(cp.start())
