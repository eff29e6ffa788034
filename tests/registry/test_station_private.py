"""A station's private fields (contact name, phone, notes) are sealed on the ledger for its readers:
its operator, the grid company owning its area, the regulator and the metrology institutes. Only
their nodes open them; a new area's grid company gets them re-sealed with the move."""

import pytest

from ledger.chain import sealed
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import node_submit
from registry import services
from registry.models import Station
from registry.selectors import station_private
from tests.conftest import INSTITUTIONS
from tests.utils.ledger import assert_never_on_ledger, commit_all, configure_node, member_keys

pytestmark = pytest.mark.django_db

READERS_ST_A = ["GRID-1", "METRO", "METRO-2", "OP-A", "REG"]
ALICE = {"contact_name": "Alice Private", "contact_phone": "+86 21 0000 0001", "notes": ""}


def x25519_of(code: str) -> bytes:
    return member_keys(list(INSTITUTIONS).index(code))[1].private


def as_node(code, *, settings, monkeypatch, tmp_path):
    """This process becomes `code`'s node (same consortium, same database)."""
    (tmp_path / code).mkdir()
    configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path / code, members=INSTITUTIONS,
                   me=code)


def test_contacts_are_sealed_for_exactly_the_readers_and_never_in_clear(world):
    section = Station.objects.get(code="ST-A").private_sealed
    assert sealed.section_readers(section) == READERS_ST_A
    for code in INSTITUTIONS:
        if code in READERS_ST_A:
            assert sealed.open_sealed(section, code, x25519_of(code)) == ALICE
        else:  # the other operator and the other area's grid company
            with pytest.raises(sealed.NotAReader):
                sealed.open_sealed(section, code, x25519_of(code))
    assert_never_on_ledger("Alice Private", "+86 21 0000 0001", "Bob Private")


@pytest.mark.parametrize("code,readable", [("OP-A", True), ("REG", True), ("METRO-2", True), ("GRID-1", True),
                                           ("OP-B", False), ("GRID-2", False)])
def test_only_the_readers_nodes_open_them(world, settings, monkeypatch, tmp_path, code, readable):
    as_node(code, settings=settings, monkeypatch=monkeypatch, tmp_path=tmp_path)
    assert node.me().code == code
    assert station_private(Station.objects.get(code="ST-A")) == (ALICE if readable else None)


def test_pages_and_api_show_them_opened_to_allowed_staff_at_a_reader_node(world, user_client, api_client):
    # This node is OP-A's: a reader of ST-A's section, not of ST-B's (OP-B's, in GRID-2's area).
    page = user_client("reg_manager").get("/registry/stations/ST-A/").content.decode()
    assert "Alice Private" in page and "+86 21 0000 0001" in page
    body = api_client("a_manager").get("/api/stations/ST-A/").json()
    assert (body["contact_name"], body["contact_phone"], body["notes"]) == ("Alice Private", "+86 21 0000 0001", "")
    # ST-B: its private fields are visible to the regulator, but this node cannot open them.
    body = api_client("reg_manager").get("/api/stations/ST-B/").json()
    assert (body["contact_name"], body["contact_phone"], body["notes"]) == (None, None, None)
    page = user_client("reg_manager").get("/registry/stations/ST-B/").content.decode()
    assert "Bob Private" not in page and "this node is not one of them" in page
    # Who may not see a station's private fields gets none of them.
    body = api_client("grid2_manager").get("/api/stations/ST-A/").json()
    assert "contact_name" not in body and "Alice Private" not in str(body)
    assert "Alice Private" not in user_client("b_manager").get("/registry/stations/ST-A/").content.decode()


def test_changing_the_area_reseals_them_for_the_new_grid_company(world):
    station = Station.objects.get(code="ST-A")
    services.station_update(actor=world.users["a_manager"], station=station, data={"grid_area": "AREA-2"})
    commit_all()
    section = Station.objects.get(code="ST-A").private_sealed
    assert sealed.section_readers(section) == ["GRID-2", "METRO", "METRO-2", "OP-A", "REG"]
    assert sealed.open_sealed(section, "GRID-2", x25519_of("GRID-2")) == ALICE
    with pytest.raises(sealed.NotAReader):
        sealed.open_sealed(section, "GRID-1", x25519_of("GRID-1"))
    # Changing one field keeps the others.
    services.station_update(actor=world.users["a_manager"], station=Station.objects.get(code="ST-A"),
                            data={"notes": "Gate code 1234"})
    commit_all()
    assert station_private(Station.objects.get(code="ST-A")) == {**ALICE, "notes": "Gate code 1234"}
    # Clearing them all leaves no section.
    services.station_update(actor=world.users["a_manager"], station=Station.objects.get(code="ST-A"),
                            data=dict.fromkeys(ALICE, ""))
    commit_all()
    assert Station.objects.get(code="ST-A").private_sealed is None
    assert_never_on_ledger("Gate code 1234", "Alice Private")


def test_the_contract_refuses_a_move_without_resealing_and_wrong_readers(world):
    moved = node_submit(type="registry.station_update", institution="OP-A", check=False,
                        payload={"code": "ST-A", "changes": {"grid_area": "AREA-2"}})
    commit_all()
    status, reason = CommittedTx.objects.values_list("status", "reason").get(tx_id=moved.tx_id)
    assert status == "rejected"
    assert "the private fields must be sealed for exactly GRID-2, METRO, METRO-2, OP-A, REG" in reason
    assert Station.objects.get(code="ST-A").grid_area.code == "AREA-1"

    from ledger.sealing import seal_for

    for readers, why in [(["OP-A", "REG"], "must be sealed for exactly"),
                         ([*READERS_ST_A, "OP-B"], "must be sealed for exactly")]:
        bad = node_submit(type="registry.station_update", institution="OP-A", check=False, payload={
            "code": "ST-A", "changes": {"private_sealed": seal_for(ALICE, readers)}})
        commit_all()
        status, reason = CommittedTx.objects.values_list("status", "reason").get(tx_id=bad.tx_id)
        assert status == "rejected" and why in reason
    clear = node_submit(type="registry.station_update", institution="OP-A", check=False, payload={
        "code": "ST-A", "changes": {"contact_name": "Alice Private"}})
    commit_all()
    assert CommittedTx.objects.get(tx_id=clear.tx_id).status == "rejected"  # no clear field any more


def test_a_node_that_cannot_open_them_must_give_them_anew(world, settings, monkeypatch, tmp_path):
    as_node("GRID-2", settings=settings, monkeypatch=monkeypatch, tmp_path=tmp_path)
    station = Station.objects.get(code="ST-A")
    with pytest.raises(Exception) as refused:
        services.station_update(actor=world.users["admin"], station=station, data={"grid_area": "AREA-2"})
    assert "grid_area" in refused.value.message_dict
    services.station_update(actor=world.users["admin"], station=station,
                            data={"grid_area": "AREA-2", **ALICE, "notes": "new"})
    commit_all()
    assert station_private(Station.objects.get(code="ST-A")) == {**ALICE, "notes": "new"}  # GRID-2 now reads


def test_the_edit_form_holds_them_opened_or_leaves_them_out(world, user_client):
    form = user_client("a_manager").get("/registry/stations/ST-A/edit/").content.decode()
    assert 'name="contact_name"' in form and "Alice Private" in form
    # ST-B's are sealed for readers this node (OP-A's) is not among: no fields to overwrite them with.
    form = user_client("admin").get("/registry/stations/ST-B/edit/").content.decode()
    assert 'name="contact_name"' not in form and 'name="name"' in form
