"""The registry's reads: restricted querysets and the per-role summaries of the home page."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q, Sum

from ledger import sealing
from ledger.chain.sealed import SealError
from registry import access
from registry.models import (
    Connector, DeviceKey, FieldTestBox, FirmwareAttestation, GridArea, Institution, InstitutionRole, Pile, PileStatus,
    Station,
)

CERTIFICATE_WARNING_DAYS = 30


def institution_list(*, user):
    return Institution.objects.restrict(user).order_by("code")


def grid_area_list(*, user):
    return (
        GridArea.objects.restrict(user)
        .select_related("owner")
        .annotate(station_count=Count("stations", distinct=True))
        .order_by("code")
    )


def station_list(*, user):
    return (
        Station.objects.restrict(user)
        .select_related("operator", "grid_area", "grid_area__owner")
        .annotate(pile_count=Count("piles"))
        .order_by("code")  # Meta.ordering is dropped from aggregating queries
    )


def station_private(station: Station) -> dict | None:
    """The station's private fields (contact name, phone, notes) as this node reads them: opened with
    its own key when its institution is one of the section's readers, empty when the station has
    none, None when this node cannot open them (not a reader, or a section that fails to open or
    holds something else). Whether a person may see them is `access.private_fields_visible`."""
    if station.private_sealed is None:
        return dict.fromkeys(Station.PRIVATE_FIELDS, "")
    try:
        opened = sealing.open_here(station.private_sealed)
    except SealError:
        return None
    if not isinstance(opened, dict) or set(opened) != set(Station.PRIVATE_FIELDS):
        return None
    if not all(isinstance(value, str) for value in opened.values()):
        return None
    return opened


def station_private_for(user, station: Station) -> tuple[bool, dict | None]:
    """(whether the user may see the station's private fields, their values at this node or None)."""
    if not access.private_fields_visible(user, station):
        return False, None
    return True, station_private(station)


def pile_list(*, user):
    return Pile.objects.restrict(user).select_related(
        "station", "station__operator", "station__grid_area", "station__grid_area__owner"
    )


def connector_list(*, user):
    return Connector.objects.restrict(user).select_related("pile", "pile__station")


def testbox_list(*, user):
    return FieldTestBox.objects.restrict(user).select_related("owner")


def device_key_list(*, user):
    return DeviceKey.objects.restrict(user).select_related("pile", "test_box")


def _status_counts(piles) -> dict[str, int]:
    counts = dict(piles.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in PileStatus.values}


def certificate_state(expires_on: date, *, today: date) -> str:
    if expires_on < today:
        return "expired"
    if expires_on <= today + timedelta(days=CERTIFICATE_WARNING_DAYS):
        return "expiring"
    return "valid"


def operator_summary(*, user, institution: Institution) -> dict:
    stations = station_list(user=user).filter(operator=institution)
    piles = pile_list(user=user).filter(station__operator=institution)
    return {
        "stations": stations.annotate(
            active_count=Count("piles", filter=Q(piles__status=PileStatus.ACTIVE)),
            out_of_service_count=Count("piles", filter=Q(piles__status=PileStatus.OUT_OF_SERVICE)),
        ),
        "pile_status_counts": _status_counts(piles),
        "pile_total": piles.count(),
    }


def metrology_summary(*, user, institution: Institution, today: date) -> dict:
    boxes = testbox_list(user=user).filter(owner=institution).order_by("certificate_expires_on")
    rows = [{"box": box, "state": certificate_state(box.certificate_expires_on, today=today)} for box in boxes]
    return {
        "test_boxes": rows,
        "expired": sum(1 for row in rows if row["state"] == "expired"),
        "expiring": sum(1 for row in rows if row["state"] == "expiring"),
        "pile_total": pile_list(user=user).exclude(status=PileStatus.RETIRED).count(),
    }


def grid_summary(*, user, institution: Institution) -> dict:
    areas = grid_area_list(user=user).filter(owner=institution).annotate(
        pile_count=Count("stations__piles", distinct=True),
        active_power_kw=Sum("stations__piles__rated_power_kw", filter=Q(stations__piles__status=PileStatus.ACTIVE)),
    )
    piles = pile_list(user=user).filter(station__grid_area__owner=institution)
    return {"grid_areas": areas, "pile_status_counts": _status_counts(piles), "pile_total": piles.count()}


def regulator_summary(*, user) -> dict:
    operators = (
        institution_list(user=user)
        .filter(role=InstitutionRole.OPERATOR)
        .annotate(
            station_count=Count("stations", distinct=True),
            pile_count=Count("stations__piles", distinct=True),
            active_count=Count("stations__piles", filter=Q(stations__piles__status=PileStatus.ACTIVE), distinct=True),
            out_of_service_count=Count(
                "stations__piles", filter=Q(stations__piles__status=PileStatus.OUT_OF_SERVICE), distinct=True
            ),
        )
    )
    piles = pile_list(user=user)
    return {
        "operators": operators,
        "pile_status_counts": _status_counts(piles),
        "pile_total": piles.count(),
        "test_box_total": testbox_list(user=user).count(),
        "grid_area_total": grid_area_list(user=user).count(),
    }


def home_summary(*, user, today: date) -> dict:
    """What the home page shows, by the role of the user's institution."""
    if access.is_platform_admin(user):
        return {"role": "admin", **regulator_summary(user=user)}
    institution = access.member_institution(user)
    if institution is None:
        return {"role": None}
    role = institution.role
    if role == InstitutionRole.OPERATOR:
        data = operator_summary(user=user, institution=institution)
    elif role == InstitutionRole.METROLOGY:
        data = metrology_summary(user=user, institution=institution, today=today)
    elif role == InstitutionRole.GRID:
        data = grid_summary(user=user, institution=institution)
    else:
        data = regulator_summary(user=user)
    return {"role": role, "institution": institution, **data}


def device_public_keys(device_id: str) -> list:
    """The currently valid signing keys of a light node, by its ledger signer id: "pile:<code>" or
    "box:<serial>" (a meter's OCMF key is not a transaction key). Retired devices have none."""
    kind, _, ident = device_id.partition(":")
    filters = {"pile__code__iexact": ident, "pile__status__in": [s for s in PileStatus.values if s != PileStatus.RETIRED]} \
        if kind == "pile" else {"test_box__serial__iexact": ident, "test_box__status": "active"} if kind == "box" else None
    if filters is None or not ident:
        return []
    keys = DeviceKey.objects.filter(status="active", purpose="device", **filters).order_by("fingerprint")
    return [key.public_key() for key in keys]


def device_revoked_keys(device_id: str) -> list:
    """A device's revoked keys with the block that revoked each (to say why a signature is refused)."""
    kind, _, ident = device_id.partition(":")
    field = {"pile": "pile__code__iexact", "box": "test_box__serial__iexact"}.get(kind)
    if field is None or not ident:
        return []
    keys = DeviceKey.objects.filter(status="revoked", **{field: ident}).order_by("fingerprint")
    return [(key.public_key(), key.revoked_height) for key in keys]


def device_key_valid_at(key: DeviceKey, height: int) -> bool:
    """Whether a key could sign a transaction of the block at `height` (its revocation does not
    undo what it signed before). In the revoking block itself the key still signed what came before
    the revocation (a device's own rotation is signed by the key it retires); what came after was
    rejected at commit."""
    return (key.added_height or 0) <= height and (key.revoked_height is None or height <= key.revoked_height)


def firmware_attestations(*, user, pile=None):
    rows = FirmwareAttestation.objects.restrict(user).select_related("pile")
    return rows.filter(pile=pile) if pile is not None else rows
