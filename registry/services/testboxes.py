"""Field test boxes: written by their metrology institute's transactions (registry.contracts)."""

from datetime import date

from core.submit import submit
from registry.models import FieldTestBox, Institution, TestBoxStatus
from registry.services.common import require, require_add, resolve
from registry.services.keys import key_payload
from registry.services.payload import changes_payload, plain


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
    keys: list[dict] = (),
):
    """A test box joins as a light node, with its public keys if given (see services.keys)."""
    require_add(actor, FieldTestBox)
    owner = resolve(Institution, owner, field="owner")
    require(actor, "add", FieldTestBox(owner=owner, serial=serial))
    payload = plain({
        "owner": owner, "serial": serial, "model_name": model_name, "certificate_no": certificate_no,
        "certificate_expires_on": certificate_expires_on, "manufacturer": manufacturer, "status": status,
        "keys": [key_payload(index=i, **item) for i, item in enumerate(keys or ())],
    })
    return submit(actor=actor, type="registry.testbox_register", payload=payload, institution=owner)


def testbox_update(*, actor, test_box: FieldTestBox, data: dict):
    require(actor, "change", test_box)
    changes = changes_payload(test_box, data)
    if not changes:
        return None
    return submit(actor=actor, type="registry.testbox_update", payload={"serial": test_box.serial, "changes": changes},
                  institution=test_box.owner)


def testbox_retire(*, actor, test_box: FieldTestBox, reason: str = ""):
    """The box leaves service; its keys are revoked with it."""
    require(actor, "change", test_box)
    return submit(actor=actor, type="registry.testbox_retire", payload={"serial": test_box.serial, "reason": reason},
                  institution=test_box.owner)
