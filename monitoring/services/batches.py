"""Device-signed telemetry batches, for piles that do not speak OCPP (REST ingestion).

The pile signs `SIGNING_DOMAIN + canonical(batch)` (ledger.chain.encoding: sorted keys, no floats,
decimals as strings) with its active device key (registry DeviceKey, purpose "device"):

    batch = {"pile": "PILE-A1", "batch_id": "<1-64 chars, unique per pile>", "sequence": <int, rising>,
             "readings": [{"connector_id": 1, "timestamp": "2026-03-01T08:00:00Z",
                           "measurand": "Energy.Active.Import.Register", "value": "1.5", "unit": "kWh",
                           "phase": null, "context": "Sample.Periodic"}, ...],
             "statuses": [{"connector_id": 1, "timestamp": "...", "status": "Faulted",
                           "error_code": "GroundFailure", "info": ""}, ...]}
    request = {"batch": batch, "signature": "<hex>", "key": "<key fingerprint, optional>"}

A batch is stored whole or not at all. Refused: unknown pile or no active device key, a signature
that does not verify, a batch id or sequence number already used (replay) or a sequence not above
the last one, malformed fields, unknown or mismatched units.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ledger.chain.encoding import EncodingError, canonical
from monitoring import ingest
from monitoring.models import IngestBatch
from registry.models import DeviceKey, Pile

SIGNING_DOMAIN = b"pilechain/monitoring-batch/v1\x00"
BATCH_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEX = re.compile(r"^[0-9a-fA-F]+$")


class BatchRefused(ingest.IngestError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def signing_bytes(batch: dict) -> bytes:
    return SIGNING_DOMAIN + canonical(batch)


def _time(text, where: str) -> dt.datetime:
    if not isinstance(text, str):
        raise BatchRefused("malformed", f"{where}: timestamp must be an ISO 8601 string")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BatchRefused("malformed", f"{where}: timestamp {text!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise BatchRefused("malformed", f"{where}: timestamp needs a time zone")
    return value


def _device_keys(pile) -> list[DeviceKey]:
    return list(DeviceKey.objects.filter(pile=pile, purpose="device", status="active").order_by("fingerprint"))


def ingest_signed_batch(*, data) -> dict:
    if not isinstance(data, dict) or set(data) - {"batch", "signature", "key"} or "batch" not in data:
        raise BatchRefused("malformed", "send {\"batch\": {...}, \"signature\": \"<hex>\"}")
    batch, signature = data["batch"], data.get("signature")
    if not isinstance(batch, dict):
        raise BatchRefused("malformed", "batch must be an object")
    unknown = set(batch) - {"pile", "batch_id", "sequence", "readings", "statuses"}
    if unknown:
        raise BatchRefused("malformed", f"unexpected batch fields {sorted(unknown)}")
    if not isinstance(signature, str) or not HEX.match(signature) or len(signature) % 2 or len(signature) > 300:
        raise BatchRefused("malformed", "signature must be hex")
    try:
        pile = ingest.resolve_pile(batch.get("pile"))
    except ingest.UnknownPile as exc:
        raise BatchRefused("unknown_device", str(exc)) from None
    keys = _device_keys(pile)
    if data.get("key"):
        keys = [k for k in keys if k.fingerprint == data["key"]]
    if not keys:
        raise BatchRefused("unknown_device", f"pile {pile.code} has no active device key")
    try:
        message = signing_bytes(batch)
    except (EncodingError, TypeError, ValueError) as exc:
        raise BatchRefused("malformed", f"batch cannot be encoded canonically: {exc}") from None
    raw = bytes.fromhex(signature)
    key = next((k for k in keys if k.public_key().verify(raw, message)), None)
    if key is None:
        raise BatchRefused("bad_signature", "the signature does not verify with the pile's device key")

    batch_id, sequence = batch.get("batch_id"), batch.get("sequence")
    if not isinstance(batch_id, str) or not BATCH_ID.match(batch_id):
        raise BatchRefused("malformed", "batch_id must be 1-64 letters, digits or ._:-")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence < 2**62:
        raise BatchRefused("malformed", "sequence must be a non-negative integer")
    readings, statuses = batch.get("readings") or [], batch.get("statuses") or []
    if not isinstance(readings, list) or not isinstance(statuses, list) or not (readings or statuses):
        raise BatchRefused("malformed", "send readings or statuses (lists)")

    now = timezone.now()
    by_connector: dict[int, list] = {}
    for i, r in enumerate(readings):
        if not isinstance(r, dict):
            raise BatchRefused("malformed", f"reading {i} is not an object")
        sample = {k: v for k, v in r.items() if k != "connector_id"}
        sample["timestamp"] = _time(r.get("timestamp"), f"reading {i}")
        by_connector.setdefault(r.get("connector_id"), []).append(sample)
    parsed_samples = {}
    try:
        for connector_id, samples in by_connector.items():
            parsed_samples[ingest._connector(connector_id)] = ingest.parse_samples(samples, now)
        parsed_statuses = []
        for i, s in enumerate(statuses):
            if not isinstance(s, dict) or set(s) - {"connector_id", "timestamp", "status", "error_code", "info"}:
                raise BatchRefused("malformed", f"status {i} is malformed")
            parsed_statuses.append(ingest.parse_status(
                connector_id=s.get("connector_id"), status=s.get("status"), error_code=s.get("error_code", ""),
                info=s.get("info", ""), timestamp=_time(s.get("timestamp"), f"status {i}"), now=now,
            ))
    except BatchRefused:
        raise
    except ingest.IngestError as exc:
        code = "bad_unit" if "unit" in str(exc) else "malformed"
        raise BatchRefused(code, str(exc)) from None

    try:
        with transaction.atomic():
            # One batch of a pile at a time: the pile's row is the lock (read only, never written here).
            Pile.objects.select_for_update().filter(pk=pile.pk).first()
            last = IngestBatch.objects.filter(pile=pile).aggregate(m=Max("sequence"))["m"]
            if IngestBatch.objects.filter(pile=pile, batch_id=batch_id).exists():
                raise BatchRefused("replay", f"batch {batch_id} was already received")
            if last is not None and sequence <= last:
                raise BatchRefused("replay", f"sequence {sequence} is not above the last one ({last})")
            IngestBatch.objects.create(pile=pile, batch_id=batch_id, sequence=sequence, key_fingerprint=key.fingerprint,
                                       count=len(readings) + len(statuses))
            for connector_id, samples in sorted(parsed_samples.items()):
                ingest.store_samples(pile=pile, connector_id=connector_id, samples=samples, source="rest", now=now)
            ingest.store_statuses([(pile, status, "rest") for status in sorted(parsed_statuses, key=lambda s: s.ts)],
                                  now=now)
    except IntegrityError:  # a concurrent copy of the same batch got in first
        raise BatchRefused("replay", f"batch {batch_id} was already received") from None
    return {"pile": pile.code, "batch_id": batch_id, "sequence": sequence, "readings": len(readings),
            "statuses": len(statuses)}
