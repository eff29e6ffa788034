"""registry.access directly: the policy table, without views in between."""

import pytest
from django.contrib.auth.models import AnonymousUser

from registry import access
from registry.models import DeviceKey, FieldTestBox, Institution, Pile, Station, User

pytestmark = pytest.mark.django_db


def user(name):
    return User.objects.get(username=name)


def test_anonymous_and_unaffiliated_see_nothing(world):
    nobody = User.objects.create_user("nobody", institution=None)
    inactive = user("a_manager")
    inactive.is_active = False
    for who in (AnonymousUser(), nobody, inactive, None):
        for model in (Institution, Station, Pile, FieldTestBox, DeviceKey):
            assert not model.objects.restrict(who).exists(), (who, model)


def test_change_rights(world):
    pile_a = Pile.objects.get(code="PILE-A1")
    assert access.can(user("a_manager"), "change", pile_a)
    assert access.can(user("admin"), "change", pile_a)
    for name in ("a_viewer", "b_manager", "reg_manager", "metro_manager", "grid_manager"):
        assert not access.can(user(name), "change", pile_a), name
    assert set(Pile.objects.restrict(user("b_manager"), "change").values_list("code", flat=True)) == {"PILE-B1"}
    assert not Station.objects.restrict(user("reg_manager"), "change").exists()
    assert not Institution.objects.restrict(user("a_manager"), "change").exists()


def test_private_fields_visible(world):
    station_a = Station.objects.get(code="ST-A")
    assert access.private_fields_visible(user("grid_manager"), station_a)
    assert not access.private_fields_visible(user("grid2_manager"), station_a)
    assert not access.private_fields_visible(user("b_manager"), station_a)
    assert access.private_fields_visible(user("metro_manager"), station_a)
    assert not access.private_fields_visible(AnonymousUser(), station_a)


def test_unknown_action_is_an_error(world):
    with pytest.raises(ValueError):
        Pile.objects.restrict(user("admin"), "delete")
