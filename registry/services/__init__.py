"""The registry's writes. Each takes keyword arguments, the acting user first, checks the actor's
authority (registry.access), validates, and writes atomically. Later each will build a ledger
transaction instead of writing directly; callers will not change."""

from registry.services.accounts import (
    api_token_create, api_token_revoke, hash_token_key, institution_create, user_create,
)
from registry.services.grid import grid_area_create, grid_area_update
from registry.services.keys import device_key_add, device_key_revoke
from registry.services.piles import connector_add, pile_register, pile_update
from registry.services.sites import station_create, station_update
from registry.services.testboxes import testbox_register, testbox_update

__all__ = [
    "api_token_create", "api_token_revoke", "connector_add", "device_key_add", "device_key_revoke",
    "grid_area_create", "grid_area_update", "hash_token_key", "institution_create", "pile_register", "pile_update",
    "station_create", "station_update", "testbox_register", "testbox_update", "user_create",
]
