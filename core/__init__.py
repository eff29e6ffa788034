"""The shared layer between the ledger and the apps: what every app uses and no app owns.

It imports only the ledger and third-party code; config/ and the apps import it.

localtime: the consortium's local day and settlement period of an instant.
submit: the one way an app's services put a transaction on the ledger.
errors: the one error family services refuse with (Refused, NotPermitted, NodeNotReady).
forms: how forms and page messages show those refusals.
api/: the REST API's plumbing (pagination, the schema's shared bodies, the one error body, the JSON parser).
error_views: what a failed request answers (the API's error body under /api/, a page elsewhere).
request_log: the middleware writing one structured log line per request.
context_processors: what every page shows about the node it is served by.
consumers: the websocket liveness check (/ws/ping/).
"""
