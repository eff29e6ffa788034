"""The registry: who is in the consortium and what they run. Institutions (copied from the consortium
definition), grid areas, stations, piles, connectors, field test boxes, device keys and firmware
attestations, written by the registry's contracts; people and API tokens (this node's own); and the
one visibility mechanism every app uses (access: `Model.objects.restrict(user, action)`)."""
