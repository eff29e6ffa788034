"""A fleet of simulated charge points: real OCPP clients (the `ocpp` package) that boot, charge,
send meter values (some OCMF-signed with the pile's meter key), fail now and then, and, as light
nodes, verify the receipts of their own charging sessions against headers they verify themselves."""
