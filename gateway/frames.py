"""The RPC framing checks the `ocpp` package leaves to us: a frame it cannot parse is only logged
there, so the central system answers it here with the CALLERROR each version prescribes.

OCPP-J 1.6 (section 4.2.3) and 2.0.1 (part 4, 4.3) differ in their error names:
    not JSON / not an RPC frame      1.6 FormationViolation       2.0.1 RpcFrameworkError (id "-1" if unreadable)
    unknown MessageTypeId            1.6 FormationViolation       2.0.1 MessageTypeNotSupported
    action not known                 NotImplemented (both)
    action known, not handled        NotSupported (both)
The library's own schema errors keep its codes; 1.6's spelling of two of them is restored on output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ocpp.v16.enums import Action as Action16
from ocpp.v201.enums import Action as Action201

MAX_ID_LENGTH = 36
V16_SPELLING = {"FormatViolation": "FormationViolation", "OccurrenceConstraintViolation": "OccurenceConstraintViolation"}
KNOWN_ACTIONS = {
    "ocpp1.6": {a.value for a in Action16},
    "ocpp2.0.1": {a.value for a in Action201},
}


@dataclass(frozen=True)
class FrameError:
    unique_id: str
    code: str
    description: str

    def to_json(self) -> str:
        return json.dumps([4, self.unique_id, self.code, self.description, {}])


DROP = FrameError("", "", "malformed answer")


def framework_error(protocol: str, unique_id: str, description: str, *, unknown_type=False) -> FrameError:
    if protocol == "ocpp1.6":
        return FrameError(unique_id, "FormationViolation", description)
    return FrameError(unique_id, "MessageTypeNotSupported" if unknown_type else "RpcFrameworkError", description)


def check(text: str, protocol: str, handled: set[str]) -> FrameError | None:
    """None if the frame may go to the library; otherwise the CALLERROR to answer."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return framework_error(protocol, "-1", "the frame is not JSON")
    if not isinstance(frame, list) or not frame:
        return framework_error(protocol, "-1", "the frame is not an OCPP-J array")
    unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) and 0 < len(frame[1]) <= MAX_ID_LENGTH else None
    type_id = frame[0]
    if unique_id is None:
        return framework_error(protocol, "-1", "the message id is missing or not a string of 1-36 characters")
    if type_id not in (2, 3, 4) or isinstance(type_id, bool):
        return framework_error(protocol, unique_id, f"message type {str(type_id)[:10]} is not supported", unknown_type=True)
    if type_id == 2:
        if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
            return framework_error(protocol, unique_id, "a CALL is [2, id, action, payload object]")
        action = frame[2]
        if action not in KNOWN_ACTIONS[protocol]:
            return FrameError(unique_id, "NotImplemented", f"action {action[:40]} is not known")
        if action not in handled:
            return FrameError(unique_id, "NotSupported", f"action {action} is not supported by this central system")
        return None
    # A malformed answer is never answered back (that could loop); it is logged and dropped.
    if type_id == 3 and (len(frame) != 3 or not isinstance(frame[2], dict)):
        return DROP
    if type_id == 4 and len(frame) != 5:
        return DROP
    return None


def respelled(message: str, protocol: str) -> str:
    """1.6 spells two error codes differently from the library (which follows 2.0.1)."""
    if protocol != "ocpp1.6" or not message.startswith("[4"):
        return message
    try:
        frame = json.loads(message)
    except ValueError:
        return message
    if isinstance(frame, list) and len(frame) == 5 and frame[2] in V16_SPELLING:
        frame[2] = V16_SPELLING[frame[2]]
        return json.dumps(frame)
    return message
