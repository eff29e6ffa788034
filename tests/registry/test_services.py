"""Services: authority, validation with field keys (both before anything is submitted), writes that
land when their block commits, events only after that commit."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registry import services
from ledger.models import Submission
from registry.models import Connector, DeviceKey, GridArea, Pile, Station, User
from registry.signals import registry_changed
from tests.conftest import signing_key
from tests.registry.ledger_checks import assert_applied, assert_rejected, counts, pending
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db


def user(name: str) -> User:
    return User.objects.get(username=name)


def station_kwargs(**change):
    return {
        "operator": "OP-A", "code": "ST-NEW", "name": "New", "address": "Somewhere in Shanghai",
        "latitude": Decimal("31.2"), "longitude": Decimal("121.5"), "grid_area": "AREA-1", **change,
    }


def assert_refused(call, *fields, error=ValidationError):
    """Refused at once, keyed by the fields named: no row written and no transaction submitted."""
    before = counts()
    with pytest.raises(error) as info:
        call()
    if fields:
        assert set(fields) <= set(info.value.message_dict), info.value.message_dict
    assert counts() == before
    assert commit_all() == []  # and nothing is left to commit later
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
    # The same code is fine; the change is queued and lands with its block.
    submission = services.pile_update(actor=manager, pile=pile, data={"code": "PILE-A1", "status": "retired"})
    assert isinstance(submission, Submission) and submission.status == "pending"
    assert submission.type == "registry.pile_update" and submission.submitted_by == manager
    assert Pile.objects.get(code="PILE-A1").status == "active"
    [block] = commit_all()
    pile = Pile.objects.get(code="PILE-A1")
    assert pile.status == "retired" and pile.height == block.height == assert_applied(submission.tx_id)
    # Leaving takes its keys with it, from that block on.
    assert {(k.status, k.revoked_height) for k in pile.keys.all()} == {("revoked", block.height)}
    station = Station.objects.get(code="ST-A")
    submission = services.station_update(actor=manager, station=station, data={"grid_area": "AREA-2"})
    [block] = commit_all()
    station = Station.objects.get(code="ST-A")
    assert station.grid_area.code == "AREA-2" and station.height == block.height
    assert_refused(lambda: services.station_update(actor=manager, station=station, data={"grid_area": "NOPE"}), "grid_area")
    # Nothing to change: nothing is sent.
    before = counts()
    assert services.station_update(actor=manager, station=station, data={"name": station.name, "grid_area": "AREA-2"}) is None
    assert counts() == before


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
            # A second, identical one passes the dry run too (the first is not committed yet).
            services.grid_area_create(actor=user("grid_manager"), owner="GRID-1", code="AREA-EV", name="e", capacity_kw=1)
        assert seen == []  # submitted, and the dry runs announced nothing
        with django_capture_on_commit_callbacks(execute=True):
            [block] = commit_all()
        assert (block.applied, block.rejected) == (1, 1)
        assert seen == [("created", "AREA-EV")]  # once: the rejected copy announces nothing
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(ValidationError):
                services.pile_register(
                    actor=user("a_manager"), station="ST-A", code="PILE-EV", kind="ac", rated_power_kw=7,
                    connectors=[{"connector_id": 0, "standard": "gbt_ac"}],
                )
        assert callbacks == [] and seen == [("created", "AREA-EV")] and pending() == 0
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
    submission = services.grid_area_update(actor=user("grid_manager"), grid_area=area, data={"feeder_name": "F-9"})
    assert GridArea.objects.get(code="AREA-1").feeder_name == ""
    commit_all()
    area = GridArea.objects.get(code="AREA-1")
    assert area.feeder_name == "F-9" and area.height == assert_applied(submission.tx_id)
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
    submission = services.connector_add(actor=admin, pile=pile, connector_id="3", standard="gbt_ac", evse_id=2)
    assert not Connector.objects.filter(pile=pile, connector_id=3).exists()
    commit_all()
    connector = Connector.objects.get(pile=pile, connector_id=3)
    assert connector.uid == Connector.derive_uid("PILE-A1", 3) and connector.evse_id == 2
    assert connector.height == assert_applied(submission.tx_id)


def test_patch_ignores_creation_only_inputs(world, api_client):
    response = api_client("a_manager").patch(
        "/api/piles/PILE-A1/", {"status": "retired", "connectors": [{"connector_id": 9, "standard": "gbt_ac"}]},
        format="json",
    )
    assert response.status_code == 202, response.content
    commit_all()
    assert Pile.objects.get(code="PILE-A1").status == "retired"
    assert not Connector.objects.filter(connector_id=9).exists()


def test_lost_insert_race_is_a_rejection_with_the_field(world):
    """Two users register the same station code before either commits: both pass the dry run, the
    block applies the first and rejects the second with the field named, not a crash."""
    first = services.station_create(actor=user("admin"), **station_kwargs(code="ST-RACE", name="First"))
    second = services.station_create(actor=user("a_manager"), **station_kwargs(code="ST-RACE", name="Second"))
    [block] = commit_all()
    assert (block.applied, block.rejected) == (1, 1)
    assert assert_applied(first.tx_id) == block.height
    assert_rejected(second.tx_id, "code:")
    assert Submission.objects.get(tx_id=second.tx_id).status == "rejected"
    assert [s.name for s in Station.objects.filter(code="ST-RACE")] == ["First"]
