"""Field test boxes: a metrology institute brings its boxes into service, changes and retires them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.contracts import register
from registry.contracts.common import (
    MAX_NESTED, announce, apply_changes, changes_data, field_value, nested_error, owner_signs, payload_fields,
    require_active, resolve_exact, save_row, text_value,
)
from registry.contracts.keys import add_key, revoke_all
from registry.models import FieldTestBox, Institution, TestBoxStatus

TESTBOX_MUTABLE = ("model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status")


@register("registry.testbox_register", roles={"metrology"})
def testbox_register(ctx, tx):
    """A metrology institute brings a field test box (itself a verified instrument) into service."""
    p = payload_fields(tx.payload, ("owner", "serial", "model_name", "certificate_no", "certificate_expires_on"),
                ("manufacturer", "status", "keys"))
    box = FieldTestBox(
        owner=resolve_exact(Institution, p["owner"], field="owner"),
        **{name: field_value(name, p.get(name)) for name in (
            "serial", "model_name", "certificate_no", "certificate_expires_on", "manufacturer")},
    )
    if p.get("status"):
        box.status = text_value(p["status"], "status")
    box.full_clean()
    owner_signs(ctx, box.owner, "test box")
    save_row(ctx, box)
    keys = p.get("keys") or []
    if not isinstance(keys, list) or len(keys) > MAX_NESTED:
        raise ValidationError({"keys": _("Send a list of at most %(n)d items.") % {"n": MAX_NESTED}})
    for index, item in enumerate(keys):
        try:
            add_key(ctx, box, item)
        except ValidationError as exc:
            raise nested_error("keys", index, exc) from exc
    announce(ctx, "created", box)


@register("registry.testbox_update", roles={"metrology"})
def testbox_update(ctx, tx):
    p = payload_fields(tx.payload, ("serial", "changes"))
    box = resolve_exact(FieldTestBox, p["serial"], field="serial", lookup="serial")
    owner_signs(ctx, box.owner, "test box")
    require_active(box)
    data = changes_data(p, TESTBOX_MUTABLE, {})
    if apply_changes(box, data, mutable=TESTBOX_MUTABLE):
        save_row(ctx, box)
        if box.status == TestBoxStatus.RETIRED:
            revoke_all(ctx, box, "device retired")
        announce(ctx, "updated", box)


@register("registry.testbox_retire", roles={"metrology"})
def testbox_retire(ctx, tx):
    p = payload_fields(tx.payload, ("serial",), ("reason",))
    box = resolve_exact(FieldTestBox, p["serial"], field="serial", lookup="serial")
    owner_signs(ctx, box.owner, "test box")
    require_active(box)
    box.status = TestBoxStatus.RETIRED
    save_row(ctx, box)
    revoke_all(ctx, box, text_value(p.get("reason"), "reason") or "device retired")
    announce(ctx, "retired", box)
