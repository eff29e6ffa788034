from registry.models.attestations import FirmwareAttestation
from registry.models.grid import GridArea
from registry.models.identity import CODE_VALIDATOR, Institution, User
from registry.models.keys import DeviceKey, KeyKind, KeyPurpose, KeyStatus
from registry.models.piles import AccuracyClass, Connector, ConnectorStandard, Pile, PileKind, PileStatus
from registry.models.security import SecurityEvent, SecurityEventKind
from registry.models.sites import Station
from registry.models.testboxes import FieldTestBox, TestBoxStatus
from registry.models.tokens import ApiToken
from registry.roles import InstitutionRole, StaffRole

__all__ = [
    "AccuracyClass", "ApiToken", "CODE_VALIDATOR", "Connector", "ConnectorStandard", "DeviceKey",
    "FieldTestBox", "FirmwareAttestation", "GridArea", "Institution", "InstitutionRole", "KeyKind", "KeyPurpose", "KeyStatus",
    "Pile", "PileKind", "PileStatus", "SecurityEvent", "SecurityEventKind", "StaffRole", "Station", "TestBoxStatus", "User",
]
