"""The registry's contracts: admitting grid areas, stations, piles, connectors, test boxes and device
keys, changing them, and letting devices leave.

Every node runs these for each committed registry transaction; the services run them first as a dry
run, so a user hears of a mistake at once. A payload names things by their public ids (codes,
serials, fingerprints); validation is the models' own (`full_clean`), against the state before the
transaction. The signing institution must be the one that owns what it changes: a grid company its
areas, an operator its stations, piles and their keys, a metrology institute its test boxes. A device
(signer "device:pile:<code>" or "device:box:<serial>") may only rotate its own key.

One module per what they change; `common` holds the payload reading, the authority check and the
change rule they share. Importing this package registers every `registry.*` contract.
"""

from registry.contracts import attestations, grid, keys, piles, sites, testboxes  # noqa: F401  (register registry.*)
