"""The API's JSON parser: DRF's, behind a check of the raw body's nesting.

Python's json parser recurses once per array or object, so a body a few thousand brackets deep
raised RecursionError out of every JSON endpoint (a 500, whoever sent it). The body is measured
first, without recursing, with the ledger's own limit (ledger.chain.encoding)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from ledger.chain import encoding

# A batch of transactions is a list of them: one level above the deepest transaction the ledger takes.
MAX_OPEN_CONTAINERS = encoding.MAX_OPEN_CONTAINERS + 1


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        try:
            encoding.check_nesting(raw, MAX_OPEN_CONTAINERS)
        except encoding.EncodingError:
            raise ParseError(
                _("The JSON document is nested deeper than %(limit)d levels.") % {"limit": MAX_OPEN_CONTAINERS}
            ) from None
        return super().parse(io.BytesIO(raw), media_type, parser_context)
