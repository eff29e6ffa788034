"""Remote commands from the web tier to a connected pile, across processes.

The process serving the request is not necessarily the one holding the pile's websocket, so the
command travels through the channel layer to the group of that charge point; the consumer holding
it makes the OCPP call (as a separate task, so the socket keeps reading) and sends the answer to a
reply channel the requester waits on, with a timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.core.exceptions import ValidationError
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from gateway.models import Presence

ACTIONS = ("Reset", "ChangeAvailability", "UnlockConnector", "TriggerMessage", "SetChargingProfile")
TRIGGERS = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues")
REFUSING = {"Rejected", "NotSupported", "Failed", "UnlockFailed", "UnknownConnector", "OngoingAuthorizedTransaction"}


def group_name(pile_code: str) -> str:
    return "ocpp." + re.sub(r"[^a-z0-9._-]", "_", pile_code.lower())


def timeout() -> float:
    return float(getattr(settings, "GATEWAY_COMMAND_TIMEOUT", 15))


def _int(params: dict, name: str, minimum: int, default=None) -> int:
    value = params.get(name, default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: f"{name} must be a whole number"}) from None
    if value < minimum:
        raise ValidationError({name: f"{name} must be at least {minimum}"})
    return value


def validate(action: str, params: dict) -> dict:
    """The command's parameters, normalised, or a ValidationError."""
    params = params or {}
    if not isinstance(params, dict):
        raise ValidationError("parameters must be an object")
    if action == "Reset":
        kind = str(params.get("type", "soft")).lower()
        if kind not in ("soft", "hard"):
            raise ValidationError({"type": "type is soft or hard"})
        return {"type": kind}
    if action == "ChangeAvailability":
        operative = params.get("operative", True)
        if isinstance(operative, str):
            operative = operative.lower() in ("1", "true", "on", "yes", "operative")
        return {"connector_id": _int(params, "connector_id", 0, 0), "operative": bool(operative)}
    if action == "UnlockConnector":
        return {"connector_id": _int(params, "connector_id", 1, 1)}
    if action == "TriggerMessage":
        message = params.get("message")
        if message not in TRIGGERS:
            raise ValidationError({"message": f"message is one of {', '.join(TRIGGERS)}"})
        connector = params.get("connector_id")
        return {"message": message, "connector_id": None if connector in (None, "", 0, "0") else _int(params, "connector_id", 1)}
    if action == "SetChargingProfile":
        # A limit on the whole charge point (1.6 ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile),
        # from `starts_at` for `duration_s`: what a curtailment asks of a pile (gateway.curtailments).
        starts_at = params.get("starts_at")
        try:
            parsed = dt.datetime.fromisoformat(str(starts_at))
        except ValueError:
            raise ValidationError({"starts_at": "starts_at must be an ISO 8601 time"}) from None
        if parsed.tzinfo is None:
            raise ValidationError({"starts_at": "starts_at must carry a time zone"})
        return {"limit_w": _int(params, "limit_w", 0), "starts_at": parsed.astimezone(dt.timezone.utc).isoformat(),
                "duration_s": _int(params, "duration_s", 1), "profile_id": _int(params, "profile_id", 1, 1),
                **({"curtailment": str(params["curtailment"])} if params.get("curtailment") else {})}
    raise ValidationError({"action": f"action is one of {', '.join(ACTIONS)}"})


def build_call(protocol: str, action: str, params: dict, evse_of: dict[int, tuple[int, int]]):
    """The OCPP request for a command, in the pile's protocol. evse_of: 1.6 connector id -> (evse, connector)."""

    def evse(connector_id):
        if not connector_id:
            return None
        evse_id, on_evse = evse_of.get(connector_id, (connector_id, 1))
        return {"id": evse_id, "connector_id": on_evse}

    if action == "SetChargingProfile":
        schedule_period = [{"start_period": 0, "limit": float(params["limit_w"])}]
        if protocol == "ocpp1.6":
            return call16.SetChargingProfile(connector_id=0, cs_charging_profiles={
                "charging_profile_id": params["profile_id"], "stack_level": 0,
                "charging_profile_purpose": "ChargePointMaxProfile", "charging_profile_kind": "Absolute",
                "charging_schedule": {"duration": params["duration_s"], "start_schedule": params["starts_at"],
                                      "charging_rate_unit": "W", "charging_schedule_period": schedule_period}})
        return call201.SetChargingProfile(evse_id=0, charging_profile={
            "id": params["profile_id"], "stack_level": 0, "charging_profile_purpose": "ChargingStationMaxProfile",
            "charging_profile_kind": "Absolute", "charging_schedule": [{
                "id": params["profile_id"], "start_schedule": params["starts_at"], "duration": params["duration_s"],
                "charging_rate_unit": "W", "charging_schedule_period": schedule_period}]})
    if protocol == "ocpp1.6":
        if action == "Reset":
            return call16.Reset(type="Hard" if params["type"] == "hard" else "Soft")
        if action == "ChangeAvailability":
            return call16.ChangeAvailability(
                connector_id=params["connector_id"], type="Operative" if params["operative"] else "Inoperative"
            )
        if action == "UnlockConnector":
            return call16.UnlockConnector(connector_id=params["connector_id"])
        return call16.TriggerMessage(requested_message=params["message"], connector_id=params["connector_id"])
    if action == "Reset":
        return call201.Reset(type="Immediate" if params["type"] == "hard" else "OnIdle")
    if action == "ChangeAvailability":
        return call201.ChangeAvailability(
            operational_status="Operative" if params["operative"] else "Inoperative", evse=evse(params["connector_id"])
        )
    if action == "UnlockConnector":
        evse_id, on_evse = evse_of.get(params["connector_id"], (params["connector_id"], 1))
        return call201.UnlockConnector(evse_id=evse_id, connector_id=on_evse)
    target = evse(params["connector_id"])
    return call201.TriggerMessage(
        requested_message=params["message"], evse={"id": target["id"]} if target else None
    )


def answer_of(result) -> tuple[str, dict]:
    """(status, response) from a call_result dataclass."""
    payload = {k: v for k, v in dataclasses.asdict(result).items() if v is not None}
    status = payload.get("status")
    return ("refused" if status in REFUSING else "answered"), payload


def dispatch(*, pile_code: str, action: str, params: dict, request_id) -> tuple[str, dict]:
    presence = Presence.objects.filter(pile_code=pile_code.upper(), connected=True).first()
    if presence is None:
        return "offline", {"detail": "the pile is not connected to this node"}
    return async_to_sync(_dispatch)(pile_code, action, params, request_id)


async def _dispatch(pile_code: str, action: str, params: dict, request_id) -> tuple[str, dict]:
    # A layer of its own: channels_redis lets only one event loop receive on a layer instance, and
    # the process's shared one may be receiving for websockets in another loop of this process.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        reply = await layer.new_channel()
        await layer.group_send(group_name(pile_code), {
            "type": "gateway.command", "action": action, "params": params, "reply_to": reply,
            "request_id": str(request_id),
        })
        try:
            message = await asyncio.wait_for(layer.receive(reply), timeout())
        except asyncio.TimeoutError:
            return "timeout", {"detail": f"no answer within {timeout():.0f} s"}
        return message.get("status", "answered"), message.get("response", {})
    finally:
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
