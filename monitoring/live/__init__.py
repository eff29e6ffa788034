"""The live path: what an operator's gateway learns about its piles reaches every member's node
within seconds, as "reported" state (docs/monitoring.md, "The live path").

- events: the events and batches as plain data (pure);
- wire: a batch signed by the source node's key, checked by the receiver (pure);
- outbox: the operator's node writes events with the state they report;
- forwarder: numbers them, publishes them to this node's stream, sends them to each member;
- receiver: a member applies a batch once, in order, and publishes it to its own stream;
- stream, consumers: the live websocket with the alerts' authentication, filters and resume;
- status: how far behind each member and source is.
"""
