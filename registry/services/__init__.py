"""The registry's writes. Each takes keyword arguments, the acting user first, checks the actor's
authority (registry.access), and submits a transaction signed for the institution that owns what it
changes (registry.contracts runs it, first as a dry run here, then on every node when it commits).
They return the pending `ledger.models.Submission` (None for an update that changes nothing).
People and API tokens are this node's own records and are written directly (services.accounts)."""

from registry.services.accounts import (
    api_token_create, api_token_revoke, hash_token_key, user_create,
)
from registry.services.grid import grid_area_create, grid_area_update
from registry.services.institutions import institutions_sync
from registry.services.keys import device_key_add, device_key_revoke, device_key_rotate
from registry.services.piles import connector_add, pile_register, pile_retire, pile_update
from registry.services.sites import station_create, station_update
from registry.services.testboxes import testbox_register, testbox_retire, testbox_update

__all__ = [
    "api_token_create", "api_token_revoke", "connector_add", "device_key_add", "device_key_revoke",
    "device_key_rotate", "grid_area_create", "grid_area_update", "hash_token_key",
    "institutions_sync", "pile_register", "pile_retire", "pile_update", "station_create", "station_update",
    "testbox_register", "testbox_retire", "testbox_update", "user_create",
]
