"""The API's plumbing that every app's endpoints share and no app owns.

pagination: lists and long objects a page at a time (the REST_FRAMEWORK default paginator).
schema: the bodies every endpoint shares, for the OpenAPI schema (the 202 of a write, the error body).
errors: the one error body of the whole API (the REST_FRAMEWORK exception handler, and Django's
    error handlers under /api/).
parsers: the JSON parser that measures a body's nesting before parsing it.

The 401 challenge mixin (AuthChallengeMixin) is in ledger.api_auth: the ledger's own endpoints need
it too, and the ledger is the layer below this one.
"""
