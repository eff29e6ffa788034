"""A simulated month (March 2030) on the in-process ledger: verifications, sessions, status history.

Block times follow the story (commit_pending(at=...)), so compliance changes take effect when they
happen in the month. Expected amounts are written out in the tests that use it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from calibration import services as calibration_services
from ledger.models import CommittedTx
from ledger.services import node_submit
from registry import services as registry_services
from registry.models import FieldTestBox
from settlement.services import sessions as settlement_services
from tests.calibration.helpers import ALL_OK, box_record
from tests.ocmf.samples import KEBA, KEBA_KEY, KEBA_TAMPERED
from tests.utils.ledger import commit_pending

CN = ZoneInfo("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CN)


def _pem(der_hex: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_public_key(bytes.fromhex(der_hex))
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Month:
    def __init__(self, world):
        self.world = world
        self.users = world.users
        self.sequence = 0
        self.tx = 0

    def prepare(self):
        """Before March: TB-1's certificate reaches into 2031; PILE-A1 gets a second meter key (the one
        that signed a genuine third-party OCMF record); PILE-A1 passes its verification in February."""
        registry_services.testbox_update(actor=self.users["admin"], test_box=FieldTestBox.objects.get(serial="TB-1"),
                                         data={"certificate_expires_on": dt.date(2031, 12, 31)})
        registry_services.device_key_add(actor=self.users["admin"], pile="PILE-A1", public_key=_pem(KEBA_KEY),
                                         purpose="meter")
        commit_pending(at=local(2030, 2, 1))
        self.verify("PILE-A1", at=local(2030, 2, 20, 12), kind="first")

    def verify(self, pile: str, *, at: dt.datetime, kind: str, passing: bool = True):
        self.sequence += 1
        indicated = (1_000_000, 1_000_000, 500_000) if passing else (1_000_000, 1_025_000, 500_000)
        record = box_record(sequence=self.sequence, pile=pile, indicated=indicated,
                            timestamp_ms=int(at.timestamp() * 1000))
        # The story runs in 2030: the service's wall-clock check would refuse a record from then, so
        # the filing goes straight to the node; the contract checks it against the block's time.
        payload = calibration_services.filing_payload(record=record, kind=kind, observations=ALL_OK,
                                                      inspector="metro_manager")
        submission = node_submit(type="calibration.record_file", payload=payload, institution="METRO", check=False)
        block = commit_pending(at=at)
        committed = CommittedTx.objects.get(tx_id=submission.tx_id)
        assert committed.status == "applied", committed.reason
        return block

    def session(self, pile: str, start: dt.datetime, stop: dt.datetime, wh: int, *, connector: int = 1,
                signed: list[str] = (), meter_start: int = 100_000):
        self.tx += 1
        _, uid = settlement_services.session_open(
            pile=pile, connector_id=connector, transaction_id=f"T{self.tx}", id_tag="TAG", protocol="ocpp1.6",
            started_at=start, meter_start_wh=meter_start)
        settlement_services.session_close(pile=pile, session=uid, stopped_at=stop, meter_stop_wh=meter_start + wh,
                                          stop_reason="Local", signed_data=list(signed))
        commit_pending(at=max(stop, start) + dt.timedelta(minutes=1))
        return str(uid)

    def online(self, pile: str, connector: int = 1, since: dt.datetime | None = None, status: str = "Available"):
        """Status history as monitoring keeps it on this node (node-local rows, not ledger state)."""
        from monitoring.models import StatusEvent
        from registry.models import Pile

        StatusEvent.objects.create(pile=Pile.objects.get(code=pile), connector_id=connector, status=status,
                                   ts=since or local(2030, 2, 28), source="test")

    def report_availability(self, days=range(1, 32)):
        """Monitoring's daily availability reports of March for every pile, from the status history,
        committed in one block after the month (the contract refuses a day that is not over)."""
        from monitoring.services.availability import pile_figures, piles_to_report

        for day in days:
            date = dt.date(2030, 3, day)
            for operator in ("OP-A", "OP-B"):
                piles = piles_to_report(operator=operator, day=date)
                if piles:
                    # Straight to the node: the service's dry run would judge a 2030 day by today's clock.
                    node_submit(type="monitoring.availability_report", institution=operator, check=False,
                                payload={"day": date.isoformat(), "piles": pile_figures(piles=piles, day=date)})
        block = commit_pending(at=local(2030, 4, 1, 0, 30))
        assert set(CommittedTx.objects.filter(type="monitoring.availability_report")
                   .values_list("status", flat=True)) == {"applied"}
        return block

    def play(self) -> dict:
        """The month of PILE-A1 (7 kW) and PILE-B1 (120 kW, never online). Returns session ids by name."""
        s = {}
        self.online("PILE-A1")
        s["counted_cross_band"] = self.session("PILE-A1", local(2030, 3, 2, 9, 30), local(2030, 3, 2, 10, 30), 6000)
        s["above_rated"] = self.session("PILE-A1", local(2030, 3, 3, 10), local(2030, 3, 3, 11), 7001)
        s["first_of_overlap"] = self.session("PILE-A1", local(2030, 3, 4, 10), local(2030, 3, 4, 11), 5000)
        s["overlapping"] = self.session("PILE-A1", local(2030, 3, 4, 10, 30), local(2030, 3, 4, 11, 30), 3000)
        s["bad_signature"] = self.session("PILE-A1", local(2030, 3, 5, 12), local(2030, 3, 5, 13), 4000,
                                          signed=[KEBA_TAMPERED])
        s["above_meter"] = self.session("PILE-A1", local(2030, 3, 6, 12), local(2030, 3, 6, 13), 2000, signed=[KEBA])
        self.verify("PILE-A1", at=local(2030, 3, 15, 12), kind="subsequent", passing=False)
        s["held_non_compliant"] = self.session("PILE-A1", local(2030, 3, 16, 10), local(2030, 3, 16, 11), 3000)
        self.verify("PILE-A1", at=local(2030, 3, 20, 12), kind="subsequent")
        s["counted_after_repair"] = self.session("PILE-A1", local(2030, 3, 21, 8), local(2030, 3, 21, 9), 1000)
        s["month_end"] = self.session("PILE-A1", local(2030, 3, 31, 23), local(2030, 4, 1, 1), 4000)
        s["never_online"] = self.session("PILE-B1", local(2030, 3, 10, 10), local(2030, 3, 10, 11), 50000)
        return s


def ready_to_close(world) -> Month:
    """A small March 2030: AREA-1 has a tariff from January; PILE-A1 (verified in February) charges
    three times, the last across the month's end, so the ledger's time is in April and March can be
    closed. Counted: flat 3000 + 1000 + 2000 Wh, peak 3000 Wh; April valley 2000 Wh."""
    import datetime as dt

    from settlement.services import billing
    from tests.settlement.test_tariffs import PRICES, WINDOWS

    billing.tariff_publish(world.users["grid_manager"], area="AREA-1", valid_from=dt.date(2030, 1, 1),
                           windows=WINDOWS, prices=PRICES)
    commit_pending(at=local(2030, 1, 2))
    m = Month(world)
    m.prepare()
    m.online("PILE-A1")
    m.session("PILE-A1", local(2030, 3, 2, 9, 30), local(2030, 3, 2, 10, 30), 6000)
    m.session("PILE-A1", local(2030, 3, 21, 8), local(2030, 3, 21, 9), 1000)
    m.session("PILE-A1", local(2030, 3, 31, 23), local(2030, 4, 1, 1), 4000)
    return m
