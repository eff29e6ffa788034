"""Fixtures for the gateway: a live uvicorn serving the site, piles with passwords, meter keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization

from tests.ocmf import samples as ocmf_samples
from tests.gateway.live import live_server

PASSWORD_A1 = "a1-password-0123456789"
PASSWORD_B1 = "b1-password-0123456789"


def pem_of_der_hex(der_hex: str) -> str:
    key = serialization.load_der_public_key(bytes.fromhex(der_hex))
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def gateway_world(world, settings):
    """The world, PILE-A1 and PILE-B1 with passwords set by their operators' managers, the published
    KEBA KCP30 meter key registered as PILE-A1's meter key, commands answered within 5 s."""
    from gateway import services
    from registry import services as registry_services

    settings.GATEWAY_COMMAND_TIMEOUT = 5
    services.credential_set(actor=world.users["a_manager"], pile="PILE-A1", password=PASSWORD_A1)
    services.credential_set(actor=world.users["b_manager"], pile="PILE-B1", password=PASSWORD_B1)
    registry_services.device_key_add(
        actor=world.users["admin"], pile="PILE-A1", purpose="meter", public_key=pem_of_der_hex(ocmf_samples.KEBA_KEY),
        label="KEBA KCP30 sample meter",
    )
    return world


@pytest.fixture
def server(gateway_world):
    with live_server() as url:
        yield SimpleNamespace(url=url, world=gateway_world)
