"""Who sees what in the shared fixture world (tests/conftest.py), stated once for all test modules."""

from tests.conftest import ALL_USERNAMES

PILES = {"PILE-A1", "PILE-B1"}
STATIONS = {"ST-A", "ST-B"}
AREAS = {"AREA-1", "AREA-2"}


def everyone(ids: set[str]) -> dict[str, set[str]]:
    return {username: set(ids) for username in ALL_USERNAMES}


# Private fields of stations and piles, by the station they belong to.
PRIVATE_BY_STATION = {
    "a_manager": {"ST-A"},
    "a_viewer": {"ST-A"},
    "b_manager": {"ST-B"},
    "metro_manager": STATIONS,
    "metro2_manager": STATIONS,
    "grid_manager": {"ST-A"},  # GRID-1 owns AREA-1, where ST-A is
    "grid2_manager": {"ST-B"},
    "reg_manager": STATIONS,
    "admin": STATIONS,
}
PILE_OF_STATION = {"ST-A": "PILE-A1", "ST-B": "PILE-B1"}
PRIVATE_PILES = {user: {PILE_OF_STATION[s] for s in stations} for user, stations in PRIVATE_BY_STATION.items()}

TEST_BOXES_VISIBLE = {
    "metro_manager": {"TB-1"},
    "metro2_manager": {"TB-2"},
    "reg_manager": {"TB-1", "TB-2"},
    "admin": {"TB-1", "TB-2"},
}
