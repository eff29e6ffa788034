"""The consortium definition file this process was started with (settings.LEDGER_CONSORTIUM_FILE),
loaded once and cached until the process restarts (or tests call ledger.runtime.node.reset_caches).
What the chain applies blocks under is the definition stored with its state (ledger.definition);
this file only seeds it at the genesis and says who this node's peers and keys are
(ledger.runtime.node, which re-exports these names)."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ledger.consortium import Consortium, ConsortiumError


class NotConfigured(RuntimeError):
    """This node has no consortium definition or no keys: it cannot take part in consensus."""


def consortium_path() -> Path:
    return Path(settings.LEDGER_CONSORTIUM_FILE)


@functools.cache
def consortium() -> Consortium:
    path = consortium_path()
    if not path.exists():
        raise NotConfigured(f"no consortium definition at {path} (see docs/consortium.md)")
    try:
        return Consortium.load(path)
    except ConsortiumError as exc:
        raise NotConfigured(str(exc)) from exc


def configured() -> bool:
    try:
        consortium()
        return True
    except NotConfigured:
        return False
