from datetime import date

from django.db import transaction

from registry.models import FieldTestBox, Institution, TestBoxStatus
from registry.services.common import (
    announce, apply_changes, insert, locked, require, require_add, resolve, save_validated,
)

TESTBOX_MUTABLE = ("model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status")


@transaction.atomic
def testbox_register(
    *,
    actor,
    owner,
    serial: str,
    model_name: str,
    certificate_no: str,
    certificate_expires_on: date,
    manufacturer: str = "",
    status: str = TestBoxStatus.ACTIVE,
) -> FieldTestBox:
    require_add(actor, FieldTestBox)
    box = FieldTestBox(
        owner=resolve(Institution, owner, field="owner"),
        serial=serial,
        model_name=model_name,
        manufacturer=manufacturer,
        certificate_no=certificate_no,
        certificate_expires_on=certificate_expires_on,
        status=status,
    )
    box.full_clean()
    require(actor, "add", box)
    insert(box)
    announce("created", box, actor=actor)
    return box


@transaction.atomic
def testbox_update(*, actor, test_box: FieldTestBox, data: dict) -> FieldTestBox:
    require(actor, "change", test_box)
    box = locked(test_box)
    if apply_changes(box, data, mutable=TESTBOX_MUTABLE):
        save_validated(box)
        announce("updated", box, actor=actor)
    return box
