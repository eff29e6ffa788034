"""Who may see what goes through one mechanism (registry.access): every model of the apps that a
person or a token reads has a RestrictedQuerySet manager and a rule, declared next to its fields
(`restriction`) or, for the registry's own models, by label in registry.access. A model without one
must be listed below with the reason nobody reads it directly."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from registry import access

PROJECT_APPS = {"registry", "calibration", "monitoring", "settlement", "subsidy", "gateway"}

# Models nobody reads directly, each with the reason.
NOT_READ_DIRECTLY = {
    "registry.user": "people are managed in the admin and through their institution's manager (ruled by label)",
    "registry.securityevent": "the node's security log: read by platform administrators in Django admin only",
    "monitoring.faultwatch": "node-internal: the detector's memory of what it already reported",
    "monitoring.ingestbatch": "node-internal: the telemetry intake's batches",
    "monitoring.webhookdelivery": "node-internal: the delivery queue of webhooks",
    "monitoring.alertrecord": "read through the websocket consumer, which filters each alert by its audience",
    "monitoring.liveevent": "node-internal: the live path's outbox (read by the forwarder only)",
    "monitoring.livelink": "node-internal: how far each member has taken the live path (the node's status)",
    "monitoring.liverecord": "read through the live websocket consumer, which filters each event by its audience",
    "monitoring.anchorbatch": "read only through a reading's proof (Reading is ruled)",
    "monitoring.gridoutage": "read through the availability selector of visible piles, never listed",
    "monitoring.arealoadthreshold": "read with the grid area (GridArea is ruled)",
    "monitoring.openreport": "read by the correction contract only (a report's figures are in its block)",
    "monitoring.workorderstep": "read through its work order (WorkOrder is ruled)",
    "settlement.servicefee": "read by contracts and statements only",
    "settlement.energytotal": "read by contracts and through a statement (Statement is ruled)",
    "settlement.sealedterms": "read through a statement (Statement is ruled); sealed for its parties",
    "settlement.areameterreading": "read through a statement (Statement is ruled)",
    "settlement.statementitem": "read through its statement (Statement is ruled)",
    "settlement.statementstep": "read through its statement (Statement is ruled)",
    "subsidy.claimline": "read through its claim (Claim is ruled)",
    "subsidy.claimexclusion": "read through its claim line",
    "subsidy.claimstep": "read through its claim (Claim is ruled)",
}


def _project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def _ruled(model) -> bool:
    if getattr(model, "restriction", None) is not None:
        return True
    label = model._meta.label_lower
    return label in access.OWNERSHIP or label in access.PUBLIC_MODELS or label == "registry.firmwareattestation"


def test_every_model_read_by_people_has_a_rule_and_a_restricted_manager():
    missing = []
    for model in _project_models():
        label = model._meta.label_lower
        if NOT_READ_DIRECTLY.get(label):
            continue
        if not _ruled(model):
            missing.append(f"{label}: no rule (declare `restriction` on the model)")
        elif not isinstance(model._default_manager.get_queryset(), access.RestrictedQuerySet):
            missing.append(f"{label}: its manager is not a RestrictedQuerySet")
    assert not missing, "\n".join(missing)


def test_the_exemptions_name_existing_models_and_are_not_also_ruled():
    labels = {m._meta.label_lower for m in _project_models()}
    assert set(NOT_READ_DIRECTLY) <= labels
    for label, reason in NOT_READ_DIRECTLY.items():
        if reason:
            assert not getattr(apps.get_model(label), "restriction", None), f"{label} is ruled: drop its exemption"


@pytest.mark.django_db
def test_an_anonymous_user_sees_nothing_of_any_ruled_model():
    for model in _project_models():
        if _ruled(model) and isinstance(model._default_manager.get_queryset(), access.RestrictedQuerySet):
            assert access.restriction_q(model, AnonymousUser(), access.VIEW) is None, model._meta.label_lower


def test_a_rule_refuses_an_action_it_does_not_know():
    from settlement.models import Statement

    with pytest.raises(ValueError):
        Statement.objects.restrict(AnonymousUser(), access.CHANGE)


@pytest.mark.django_db
@pytest.mark.parametrize("username,private,own,operate", [
    ("a_manager", {"PILE-A1"}, {"PILE-A1"}, {"PILE-A1"}),
    ("a_viewer", {"PILE-A1"}, {"PILE-A1"}, set()),
    ("b_manager", {"PILE-B1"}, {"PILE-B1"}, {"PILE-B1"}),
    ("grid_manager", {"PILE-A1"}, set(), set()),  # AREA-1 is GRID-1's
    ("grid2_manager", {"PILE-B1"}, set(), set()),
    ("metro_manager", {"PILE-A1", "PILE-B1"}, set(), set()),
    ("reg_manager", {"PILE-A1", "PILE-B1"}, set(), set()),
    ("admin", {"PILE-A1", "PILE-B1"}, {"PILE-A1", "PILE-B1"}, {"PILE-A1", "PILE-B1"}),
])
def test_the_pile_actions_follow_one_ladder(world, username, private, own, operate):
    from registry.models import Pile

    user = world.users[username]
    codes = lambda action: set(Pile.objects.restrict(user, action).values_list("code", flat=True))  # noqa: E731
    assert codes(access.PRIVATE) == private
    assert codes(access.OWN) == own
    assert codes(access.OPERATE) == operate
    for pile in Pile.objects.all():
        assert access.private_fields_visible(user, pile) == (pile.code in private)
        assert access.can(user, access.OPERATE, pile) == (pile.code in operate)
