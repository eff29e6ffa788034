"""Services: authority, validation with field keys, atomic writes, events only after commit."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registry import services
from registry.models import Connector, DeviceKey, GridArea, Pile, Station, User
from registry.signals import registry_changed
from tests.conftest import signing_key
from tests.utils.cases import row_counts

pytestmark = pytest.mark.django_db


def user(name: str) -> User:
    return User.objects.get(username=name)


def station_kwargs(**change):
    return {
        "operator": "OP-A", "code": "ST-NEW", "name": "New", "address": "Somewhere in Shanghai",
        "latitude": Decimal("31.2"), "longitude": Decimal("121.5"), "grid_area": "AREA-1", **change,
    }


def assert_refused(call, *fields, error=ValidationError):
    before = row_counts()
    with pytest.raises(error) as info:
        call()
    if fields:
        assert set(fields) <= set(info.value.message_dict), info.value.message_dict
    assert row_counts() == before
    return info.value


def test_field_keyed_validation_errors(world):
    admin = user("admin")
    assert_refused(lambda: services.station_create(actor=admin, **station_kwargs(latitude=Decimal("95"))), "latitude")
    assert_refused(lambda: services.station_create(actor=admin, **station_kwargs(grid_area="NOPE")), "grid_area")
    assert_refused(lambda: services.station_create(actor=admin, **station_kwargs(operator="GRID-1")), "operator")
    assert_refused(lambda: services.station_create(actor=admin, **station_kwargs(operator="NOPE")), "operator")
    assert_refused(lambda: services.station_create(actor=admin, **station_kwargs(code="st-a")), "code")
    assert_refused(
        lambda: services.grid_area_create(actor=admin, owner="OP-A", code="AREA-X", name="x", capacity_kw=1), "owner"
    )
    assert_refused(
        lambda: services.testbox_register(
            actor=admin, owner="GRID-1", serial="TB-X", model_name="m", certificate_no="c",
            certificate_expires_on=date(2030, 1, 1),
        ),
        "owner",
    )
    assert_refused(
        lambda: services.pile_register(actor=admin, station="ST-A", code="Pile-A1", kind="ac", rated_power_kw=7), "code"
    )
    assert_refused(
        lambda: services.pile_register(actor=admin, station="NOPE", code="P-X", kind="ac", rated_power_kw=7), "station"
    )


def test_a_pile_lands_only_at_an_operators_station(world):
    """A station (and so a pile) cannot be given to a non-operator institution, by anyone."""
    for owner in ("METRO", "GRID-1", "REG"):
        assert_refused(
            lambda: services.station_create(actor=user("admin"), **station_kwargs(operator=owner)), "operator"
        )
    # A non-operator manager may not create stations at all.
    assert_refused(
        lambda: services.station_create(actor=user("metro_manager"), **station_kwargs(operator="METRO")),
        error=PermissionDenied,
    )


def test_authority(world):
    assert_refused(lambda: services.station_create(actor=user("b_manager"), **station_kwargs()), error=PermissionDenied)
    assert_refused(lambda: services.station_create(actor=user("a_viewer"), **station_kwargs()), error=PermissionDenied)
    assert_refused(lambda: services.station_create(actor=user("reg_manager"), **station_kwargs()), error=PermissionDenied)
    pile = Pile.objects.get(code="PILE-A1")
    for name in ("b_manager", "reg_manager", "grid_manager", "metro_manager", "a_viewer"):
        assert_refused(
            lambda: services.pile_update(actor=user(name), pile=pile, data={"status": "retired"}),
            error=PermissionDenied,
        )
        assert_refused(
            lambda: services.connector_add(actor=user(name), pile=pile, connector_id=5, standard="gbt_ac"),
            error=PermissionDenied,
        )
    from django.contrib.auth.models import AnonymousUser

    assert_refused(lambda: services.station_create(actor=AnonymousUser(), **station_kwargs()), error=PermissionDenied)


def test_superuser_with_an_institution_acts_as_that_institution(world):
    b = user("b_manager")
    b.is_superuser = True
    b.save()
    assert_refused(lambda: services.station_create(actor=b, **station_kwargs()), error=PermissionDenied)


def test_pile_register_is_all_or_nothing(world):
    good = {"public_key": signing_key(20).public_key.hex, "kind": "ed25519"}
    bad = {"public_key": "00", "kind": "ed25519"}
    error = assert_refused(
        lambda: services.pile_register(
            actor=user("a_manager"), station="ST-A", code="PILE-ATOM", kind="dc", rated_power_kw=Decimal("60"),
            connectors=[{"connector_id": 1, "standard": "gbt_dc"}], keys=[good, bad],
        ),
        "keys",
    )
    assert "[1]" in error.message_dict["keys"][0]
    assert not DeviceKey.objects.filter(public_key_hex=good["public_key"]).exists()


def test_updates_keep_identity(world):
    pile = Pile.objects.get(code="PILE-A1")
    manager = user("a_manager")
    assert_refused(lambda: services.pile_update(actor=manager, pile=pile, data={"code": "PILE-Z"}), "code")
    assert_refused(
        lambda: services.pile_update(actor=manager, pile=pile, data={"station": "ST-B"}), "station"
    )
    assert_refused(lambda: services.pile_update(actor=manager, pile=pile, data={"nonsense": 1}), "nonsense")
    assert_refused(lambda: services.pile_update(actor=manager, pile=pile, data={"rated_power_kw": -1}), "rated_power_kw")
    services.pile_update(actor=manager, pile=pile, data={"code": "PILE-A1", "status": "retired"})  # same code is fine
    assert Pile.objects.get(code="PILE-A1").status == "retired"
    station = Station.objects.get(code="ST-A")
    services.station_update(actor=manager, station=station, data={"grid_area": "AREA-2"})
    assert Station.objects.get(code="ST-A").grid_area.code == "AREA-2"
    assert_refused(lambda: services.station_update(actor=manager, station=station, data={"grid_area": "NOPE"}), "grid_area")


def test_public_ids_are_deterministic(world):
    connector = Connector.objects.get(pile__code="PILE-A1")
    assert connector.uid == Connector.derive_uid("pile-a1", 1)  # same id whatever the case typed
    key = DeviceKey.objects.get(test_box__serial="TB-1")
    import hashlib

    assert key.fingerprint == hashlib.sha256(bytes.fromhex(key.public_key_hex)).hexdigest()
    assert key.public_key_hex == signing_key(3).public_key.hex


def test_events_are_sent_only_after_commit(world, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, kind, instance, actor, **kwargs):
        seen.append((kind, instance.public_id))

    registry_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.grid_area_create(actor=user("grid_manager"), owner="GRID-1", code="AREA-EV", name="e", capacity_kw=1)
        assert seen == [("created", "AREA-EV")]
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(ValidationError):
                services.pile_register(
                    actor=user("a_manager"), station="ST-A", code="PILE-EV", kind="ac", rated_power_kw=7,
                    connectors=[{"connector_id": 0, "standard": "gbt_ac"}],
                )
        assert callbacks == [] and seen == [("created", "AREA-EV")]
    finally:
        registry_changed.disconnect(receiver)


def test_user_create(world):
    manager = user("a_manager")
    colleague = services.user_create(actor=manager, username="a_new", institution="OP-A", staff_role="engineer")
    assert colleague.institution.code == "OP-A" and not colleague.has_usable_password()
    assert_refused(lambda: services.user_create(actor=manager, username="b_new", institution="OP-B"),
                   error=PermissionDenied)
    assert_refused(lambda: services.user_create(actor=manager, username="root2", is_superuser=True),
                   error=PermissionDenied)
    assert_refused(lambda: services.user_create(actor=user("admin"), username="nobody"), "institution")
    assert_refused(
        lambda: services.user_create(actor=manager, username="weak", institution="OP-A", password="123"), "password"
    )


def test_grid_area_update(world):
    area = GridArea.objects.get(code="AREA-1")
    services.grid_area_update(actor=user("grid_manager"), grid_area=area, data={"feeder_name": "F-9"})
    assert GridArea.objects.get(code="AREA-1").feeder_name == "F-9"
    assert_refused(
        lambda: services.grid_area_update(actor=user("grid2_manager"), grid_area=area, data={"feeder_name": "x"}),
        error=PermissionDenied,
    )


def test_small_edges(world):
    admin = user("admin")
    pile = Pile.objects.get(code="PILE-A1")
    assert_refused(lambda: services.pile_register(actor=admin, station="ST-A", code="New", kind="ac", rated_power_kw=7),
                   "code")
    assert_refused(lambda: services.connector_add(actor=admin, pile=pile, connector_id="two", standard="gbt_ac"),
                   "connector_id")
    assert_refused(
        lambda: services.device_key_add(actor=admin, pile=pile, public_key="ab" * 32, kind="rsa"), "kind"
    )
    connector = services.connector_add(actor=admin, pile=pile, connector_id="3", standard="gbt_ac", evse_id=2)
    assert connector.uid == Connector.derive_uid("PILE-A1", 3) and connector.evse_id == 2


def test_patch_ignores_creation_only_inputs(world, api_client):
    response = api_client("a_manager").patch(
        "/api/piles/PILE-A1/", {"status": "retired", "connectors": [{"connector_id": 9, "standard": "gbt_ac"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert not Connector.objects.filter(connector_id=9).exists()


def test_lost_insert_race_is_a_validation_error(world, monkeypatch):
    """Two nodes' users register the same code at once: the loser gets a field error, not a 500."""
    from registry.models import Station as StationModel

    real_full_clean = StationModel.full_clean
    calls = {"n": 0}

    def racing_full_clean(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # our validation runs before the rival's row exists...
            return None
        return real_full_clean(self, *args, **kwargs)

    monkeypatch.setattr(StationModel, "full_clean", racing_full_clean)
    assert_refused(lambda: services.station_create(actor=user("admin"), **station_kwargs(code="ST-A")), "code")
