"""Demo consortium for a fresh node: institutions, people, grid areas, stations, piles and keys.

Idempotent: run it again and it only adds what is missing. Everything is written through the
registry's services (as the platform administrator), the way real data arrives. Demo devices'
private keys go to var/<node>/devices/ (mode 0600) for the fleet simulator; only public keys are
registered.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from ledger.chain.crypto import ED25519, P256, SigningKey
from registry import services
from registry.models import (
    Connector, DeviceKey, FieldTestBox, GridArea, Institution, KeyPurpose, KeyStatus, Pile, StaffRole, Station, User,
)

DEMO_PASSWORD = "pilechain-demo"

INSTITUTIONS = [
    ("OPERATOR-A", "Shanghai Green Charge O&M Co., Ltd.", "operator"),
    ("OPERATOR-B", "Pudong Fast Charge Network Co., Ltd.", "operator"),
    ("METROLOGY", "Shanghai Institute of Measurement and Testing Technology", "metrology"),
    ("GRID", "State Grid Shanghai Municipal Electric Power Company", "grid"),
    ("REGULATOR", "Shanghai Municipal Development and Reform Commission", "regulator"),
]

# username, institution, staff role
USERS = [
    ("operator_a", "OPERATOR-A", StaffRole.MANAGER),
    ("operator_a_eng", "OPERATOR-A", StaffRole.ENGINEER),
    ("operator_b", "OPERATOR-B", StaffRole.MANAGER),
    ("metrology", "METROLOGY", StaffRole.MANAGER),
    ("metrology_eng", "METROLOGY", StaffRole.ENGINEER),
    ("grid", "GRID", StaffRole.MANAGER),
    ("regulator", "REGULATOR", StaffRole.MANAGER),
]

GRID_AREAS = [
    ("SH-PD-ZJ", "Pudong Zhangjiang", "Zhangjiang 10 kV feeder 3", "ZJ-T2 1250 kVA", Decimal("1000")),
    ("SH-PD-LJZ", "Pudong Lujiazui", "Lujiazui 10 kV feeder 7", "LJZ-T1 2000 kVA", Decimal("1600")),
    ("SH-XH-XJH", "Xuhui Xujiahui", "Xujiahui 10 kV feeder 2", "XJH-T4 1000 kVA", Decimal("800")),
    ("SH-JA-NJW", "Jing'an Nanjing West Road", "Nanjing Rd 10 kV feeder 5", "NJW-T1 800 kVA", Decimal("640")),
]

STATIONS = [
    ("OPERATOR-A", "SHA-ZJ-PR", "Zhangjiang Hi-Tech Park P+R", "88 Keyuan Road, Pudong New Area, Shanghai",
     "31.203500", "121.590400", "SH-PD-ZJ", "Wang Lei", "+86 21 5080 1234"),
    ("OPERATOR-A", "SHA-XJH-HUB", "Xujiahui Metro Hub Garage", "1111 Zhaojiabang Road, Xuhui District, Shanghai",
     "31.192900", "121.437700", "SH-XH-XJH", "Li Na", "+86 21 6468 5678"),
    ("OPERATOR-B", "SHB-JA-TMP", "Jing'an Temple Garage", "1686 Nanjing West Road, Jing'an District, Shanghai",
     "31.223000", "121.445600", "SH-JA-NJW", "Zhang Wei", "+86 21 6248 9012"),
    ("OPERATOR-B", "SHB-LJZ-IFC", "Lujiazui Finance Centre", "8 Century Avenue, Pudong New Area, Shanghai",
     "31.238900", "121.499900", "SH-PD-LJZ", "Chen Jing", "+86 21 5878 3456"),
]

# code, station, kind, rated kW, accuracy class, status, vendor, model
PILES = [
    ("SHA-ZJ-AC01", "SHA-ZJ-PR", "ac", "7.0", 2, "active", "TELD", "TQ-AC7"),
    ("SHA-ZJ-AC02", "SHA-ZJ-PR", "ac", "7.0", 2, "active", "TELD", "TQ-AC7"),
    ("SHA-ZJ-DC01", "SHA-ZJ-PR", "dc", "120.0", 1, "active", "XJ Electric", "XJ-DC120"),
    ("SHA-XJH-DC01", "SHA-XJH-HUB", "dc", "60.0", 1, "out_of_service", "XJ Electric", "XJ-DC60"),
    ("SHA-XJH-AC01", "SHA-XJH-HUB", "ac", "11.0", 2, "planned", "Star Charge", "SC-AC11"),
    ("SHB-JA-AC01", "SHB-JA-TMP", "ac", "7.0", 2, "active", "Star Charge", "SC-AC7"),
    ("SHB-JA-DC01", "SHB-JA-TMP", "dc", "160.0", 1, "active", "Star Charge", "SC-DC160"),
    ("SHB-LJZ-DC01", "SHB-LJZ-IFC", "dc", "240.0", 1, "active", "Sungrow", "SG-DC240"),
    ("SHB-LJZ-DC02", "SHB-LJZ-IFC", "dc", "240.0", 1, "active", "Sungrow", "SG-DC240"),
    ("SHB-LJZ-AC01", "SHB-LJZ-IFC", "ac", "7.0", 2, "retired", "TELD", "TQ-AC7"),
]

# serial, model, manufacturer, certificate number, days until expiry
TEST_BOXES = [
    ("TB-SIMT-0001", "EVT-3000 DC", "Hangzhou Kelin", "SIMT-CAL-2026-0117", 300),
    ("TB-SIMT-0002", "EVT-1000 AC", "Hangzhou Kelin", "SIMT-CAL-2026-0042", 20),
]


class Command(BaseCommand):
    help = "Creates (or completes) the demo consortium and prints its logins."

    def handle(self, *args, **options):
        self.devices_dir = Path(settings.NODE_DIR) / "devices"
        self.devices_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with transaction.atomic():
            admin = self._admin()
            institutions = {code: self._institution(admin, code, name, role) for code, name, role in INSTITUTIONS}
            for username, code, role in USERS:
                self._user(username, institutions[code], role)
            self._registry(admin)
        self._print_logins()

    # --- people ---------------------------------------------------------------------------------
    def _admin(self) -> User:
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser("admin", "admin@pilechain.local", DEMO_PASSWORD)
        return admin

    def _institution(self, admin, code, name, role) -> Institution:
        return Institution.objects.filter(code=code).first() or services.institution_create(
            actor=admin, code=code, name=name, role=role
        )

    def _user(self, username, institution, role) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            admin = User.objects.get(username="admin")
            user = services.user_create(actor=admin, username=username, institution=institution, staff_role=role)
        # Managers may use the (restricted) admin; every demo account gets the printed password.
        user.is_staff = role == StaffRole.MANAGER
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["is_staff", "password"])
        return user

    # --- registry -------------------------------------------------------------------------------
    def _registry(self, admin) -> None:
        for code, name, feeder, transformer, capacity in GRID_AREAS:
            if not GridArea.objects.filter(code=code).exists():
                services.grid_area_create(
                    actor=admin, owner="GRID", code=code, name=name, feeder_name=feeder,
                    transformer_name=transformer, capacity_kw=capacity,
                )
        for operator, code, name, address, lat, lon, area, contact, phone in STATIONS:
            if not Station.objects.filter(code=code).exists():
                services.station_create(
                    actor=admin, operator=operator, code=code, name=name, address=address,
                    latitude=Decimal(lat), longitude=Decimal(lon), grid_area=area,
                    contact_name=contact, contact_phone=phone,
                )
        commissioned = date(2025, 6, 1)
        for index, (code, station, kind, power, accuracy, status, vendor, model) in enumerate(PILES):
            pile = Pile.objects.filter(code=code).first()
            if pile is None:
                pile = services.pile_register(
                    actor=admin, station=station, code=code, kind=kind, rated_power_kw=Decimal(power),
                    accuracy_class=accuracy, status=status,
                    commissioned_on=None if status == "planned" else commissioned + timedelta(days=7 * index),
                    vendor=vendor, model_name=model, serial_number=f"{model}-{2025000 + index}",
                    firmware_version="1.6.3" if kind == "ac" else "2.4.0",
                )
            plugs = [(1, "gbt_ac")] if kind == "ac" else [(1, "gbt_dc"), (2, "gbt_dc")]
            for connector_id, standard in plugs:
                if not Connector.objects.filter(pile=pile, connector_id=connector_id).exists():
                    services.connector_add(actor=admin, pile=pile, connector_id=connector_id, standard=standard)
            self._device_key(admin, f"{code}.device", ED25519, KeyPurpose.DEVICE, pile=pile)
            self._device_key(admin, f"{code}.meter", P256, KeyPurpose.METER, pile=pile)
        today = timezone.localdate()
        for serial, model, manufacturer, certificate, days in TEST_BOXES:
            box = FieldTestBox.objects.filter(serial=serial).first()
            if box is None:
                box = services.testbox_register(
                    actor=admin, owner="METROLOGY", serial=serial, model_name=model, manufacturer=manufacturer,
                    certificate_no=certificate, certificate_expires_on=today + timedelta(days=days),
                )
            self._device_key(admin, f"{serial}.device", ED25519, KeyPurpose.DEVICE, test_box=box)

    def _device_key(self, admin, name: str, kind: str, purpose: str, *, pile=None, test_box=None) -> None:
        """Registers a demo device's key once, keeping its private half in var/<node>/devices/."""
        registered = DeviceKey.objects.filter(
            pile=pile, test_box=test_box, purpose=purpose, status=KeyStatus.ACTIVE
        ).first()
        path = self.devices_dir / f"{name}.pem"
        if path.exists():
            signing_key = SigningKey.from_pem(path.read_bytes())
        elif registered is not None:
            self.stderr.write(f"warning: {name} is registered but its private key is not on this node")
            return
        else:
            signing_key = SigningKey.generate(kind)
            # Created 0600 from the start: the key never exists on disk with wider permissions.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(signing_key.to_pem())
        if registered is not None and registered.public_key_hex == signing_key.public_key.hex:
            return
        if DeviceKey.objects.filter(public_key_hex=signing_key.public_key.hex).exists():
            return
        services.device_key_add(
            actor=admin, pile=pile, test_box=test_box, purpose=purpose, kind=signing_key.kind,
            public_key=signing_key.public_key.hex, label=f"demo {name}",
        )

    def _print_logins(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo consortium ready."))
        self.stdout.write(f"Device private keys: {self.devices_dir}")
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {'admin':<16} platform administrator (superuser, no institution)")
        for username, code, role in USERS:
            self.stdout.write(f"  {username:<16} {code:<11} {role}")
