"""Command line of the field agent.

    python -m calibration.fieldagent info   --host 192.168.1.50 --port 502
    python -m calibration.fieldagent read   --host 192.168.1.50 --port 502 --pile SH-A-1 --out record.json
    python -m calibration.fieldagent read   --serial-port /dev/ttyUSB0 --baudrate 9600 --pile SH-A-1 --out r.json
    python -m calibration.fieldagent upload --record record.json --api https://node.example/ --token KEY

The token may come from PILECHAIN_TOKEN instead of --token, which keeps it out of the shell history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from calibration.fieldagent.boxclient import AgentError, BoxClient
from calibration.fieldagent.upload import UploadError, upload_record
from calibration.fieldbox.record import FieldboxError, verify_record
from ledger.chain.crypto import InvalidKey, PublicKey

# A typical 32 A AC pile: Imax, 0.5 Imax and 0.1 Imax, 1 kWh each (0.5 kWh at the low current, which
# would otherwise take hours). Give --load-point for the pile's actual rating.
DEFAULT_LOAD_POINTS = ["32000:1000000", "16000:1000000", "3200:500000"]


def load_point(text: str) -> tuple[int, int]:
    current, sep, energy = text.partition(":")
    if not sep or not current.isdigit() or not energy.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: write CURRENT_mA:ENERGY_mWh as integers, e.g. 32000:1000000")
    return int(current), int(energy)


def _connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="the box's address (Modbus TCP)")
    p.add_argument("--port", type=int, default=502)
    p.add_argument("--serial-port", help="serial device for Modbus RTU, e.g. /dev/ttyUSB0 or COM3")
    p.add_argument("--baudrate", type=int, default=9600)
    p.add_argument("--device-id", type=int, default=1, help="the box's Modbus unit id")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each Modbus answer")


def _api(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--api", required=required, help="base address of your institution's node")
    p.add_argument("--token", default=os.environ.get("PILECHAIN_TOKEN"), help="your API token")
    p.add_argument("--observations", help="JSON file with the staff's observations, to file at once: "
                   '{"kind": "first", "visual_checks": {...}, "insulation_mohm": "25.0", "time_of_use": true}; '
                   "without it the platform keeps the record as a draft for the web form")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m calibration.fieldagent", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="show the box's serial, certificate expiry and public key")
    _connection(info)
    read = sub.add_parser("read", help="measure with the box and save the signed record")
    _connection(read)
    read.add_argument("--pile", required=True, help="code of the pile under test")
    read.add_argument("--load-point", type=load_point, action="append",
                      help="CURRENT_mA:ENERGY_mWh, repeat per load point (default: %s)" % " ".join(DEFAULT_LOAD_POINTS))
    read.add_argument("--out", required=True, help="file to save the signed record in (for the web form)")
    read.add_argument("--public-key", help="the box's registered public key (hex or PEM) to check the record here")
    _api(read, required=False)
    up = sub.add_parser("upload", help="upload a saved record")
    up.add_argument("--record", required=True, help="a file saved by `read`")
    _api(up, required=True)
    return p


def _box(args) -> BoxClient:
    if not args.host and not args.serial_port:
        raise AgentError("give --host (Modbus TCP) or --serial-port (Modbus RTU)")
    return BoxClient(host=args.host, port=args.port, serial_port=args.serial_port, baudrate=args.baudrate,
                     device_id=args.device_id, timeout=args.timeout)


def cmd_info(args) -> None:
    with _box(args) as box:
        info = box.info()
    print(json.dumps({"serial": info.serial, "map_version": info.map_version,
                      "certificate_expires": info.cert_expires.isoformat(), "key_kind": info.key_kind,
                      "public_key": info.public_key_hex}, indent=2))


def cmd_read(args) -> None:
    points = args.load_point or [load_point(t) for t in DEFAULT_LOAD_POINTS]
    with _box(args) as box:
        record = box.take_record(pile_code=args.pile, load_points=points, today=date.today())
    if args.public_key:
        try:
            verify_record(record, PublicKey.parse(record["signature"]["alg"], args.public_key))
        except (InvalidKey, FieldboxError) as exc:
            raise AgentError(f"the record does not check out against the given key: {exc}") from exc
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(out)  # never leave a half-written record for the web form
    print(f"record {record['box_serial']}#{record['sequence']} for pile {record['pile_code']} "
          f"with {len(record['load_points'])} load points saved to {out}")
    if args.api:
        _upload(args.api, args.token, record, args.observations)


def cmd_upload(args) -> None:
    try:
        record = json.loads(Path(args.record).read_text())
    except (OSError, ValueError) as exc:
        raise AgentError(f"cannot read {args.record}: {exc}") from exc
    _upload(args.api, args.token, record, args.observations)


def filing_body(record: dict, observations_file: str | None) -> dict:
    """The upload body: the bare record, or {record, kind, observations} when observations are given."""
    if not observations_file:
        return record
    try:
        observed = json.loads(Path(observations_file).read_text())
    except (OSError, ValueError) as exc:
        raise AgentError(f"cannot read {observations_file}: {exc}") from exc
    if not isinstance(observed, dict):
        raise AgentError(f"{observations_file} must hold a JSON object")
    kind = observed.pop("kind", "first")
    return {"record": record, "kind": kind, "observations": observed}


def _upload(api: str, token: str | None, record: dict, observations_file: str | None = None) -> None:
    answer = upload_record(api=api, token=token, record=filing_body(record, observations_file))
    status = f" ({answer['status']})" if isinstance(answer, dict) and answer.get("status") else ""
    print(f"uploaded record {record.get('box_serial')}#{record.get('sequence')}{status}"
          + (f": {answer['url']}" if isinstance(answer, dict) and answer.get("url") else ""))


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        {"info": cmd_info, "read": cmd_read, "upload": cmd_upload}[args.command](args)
    except (AgentError, UploadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
