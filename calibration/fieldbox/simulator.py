"""A field test box on Modbus TCP (or RTU on a serial line), with a pile whose behaviour you choose.

    python -m calibration.fieldbox.simulator --port 5020 --behaviour out-of-tolerance
    python -m calibration.fieldbox.simulator --port 5020 --pile-error-ppm 25000 --clock-drift-ms 4000

The device key is made (or loaded from --key-file) inside this process and never leaves it: the
Modbus map exposes the public key and signatures only. Once listening, the simulator prints one JSON
line (serial, port, key kind, public key) on stdout, which the demo and the tests read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from calibration.fieldbox import registers as reg
from calibration.fieldbox.boxmodel import PRESETS, TestBox, behaviour_with
from ledger.chain.crypto import KINDS, SigningKey

READ_INPUT, READ_HOLDING = 4, 3
WRITES = (6, 16)


class BoxDevice:
    """Serves a TestBox's register images through pymodbus' simulated device."""

    def __init__(self, box: TestBox, measure_seconds: float):
        self.box = box
        self.measure_seconds = measure_seconds

    async def action(self, function_code, start_address, address, count, registers, set_values):
        offset = address - start_address
        if function_code == READ_INPUT:
            registers[offset:offset + count] = self.box.input[address:address + count]
        elif function_code == READ_HOLDING:
            registers[offset:offset + count] = self.box.holding[address:address + count]
        elif function_code in WRITES:
            code = self.box.write_holding(address, list(set_values))
            if code == 6:
                return ExcCodes.DEVICE_BUSY
            if code:
                # The agent reads ERROR_CODE to tell the staff why.
                return ExcCodes.ILLEGAL_VALUE
            if self.box.pending is not None:
                asyncio.get_running_loop().call_later(self.measure_seconds, self.box.complete_measurement)
        return None

    def device(self, device_id: int) -> SimDevice:
        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        return SimDevice(
            id=device_id,
            simdata=(
                bits, list(bits),
                [SimData(0, count=reg.HOLDING_SIZE, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=reg.INPUT_SIZE, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self.action,
        )


def e4(text: str, name: str) -> int:
    """A decimal string in CNY as an integer number of 0.0001 CNY (refusing finer amounts)."""
    try:
        value = Decimal(text) * 10_000
    except InvalidOperation:
        raise SystemExit(f"{name}: {text!r} is not a decimal number")
    if value != value.to_integral_value():
        raise SystemExit(f"{name}: at most 4 decimal places")
    return int(value)


def load_key(path: str | None, kind: str) -> SigningKey:
    if not path:
        return SigningKey.generate(kind)
    key_file = Path(path)
    if key_file.exists():
        return SigningKey.from_pem(key_file.read_bytes())
    key = SigningKey.generate(kind)
    # The file stands in for the box's secure element: readable by its owner only.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.to_pem())
    return key


def build_box(args) -> TestBox:
    behaviour = behaviour_with(
        args.behaviour,
        meter_error_ppm=args.pile_error_ppm,
        display_error_ppm=args.display_error_ppm,
        clock_drift_ms=args.clock_drift_ms,
        billing_error_e4=e4(args.billing_error, "--billing-error") if args.billing_error else None,
        tariff_e4=e4(args.tariff, "--tariff") if args.tariff else None,
        voltage_mv=args.voltage_mv,
    )
    state = Path(args.state_file) if args.state_file else None
    next_sequence = args.start_sequence
    if state and state.exists():
        next_sequence = max(next_sequence, int(json.loads(state.read_text())["next_sequence"]))

    def remember(sequence: int) -> None:
        # A box must never reuse a sequence number across restarts, or its records look replayed.
        if state:
            state.write_text(json.dumps({"next_sequence": sequence}))

    return TestBox(
        serial=args.serial, key=load_key(args.key_file, args.key_kind),
        cert_expires=date.fromisoformat(args.cert_expires) if args.cert_expires else date.today() + timedelta(days=365),
        behaviour=behaviour, next_sequence=next_sequence, on_sealed=remember,
    )


async def serve(args) -> None:
    box = build_box(args)
    device = BoxDevice(box, args.measure_seconds).device(args.device_id)
    if args.serial_port:
        server = ModbusSerialServer(device, port=args.serial_port, baudrate=args.baudrate)
    else:
        server = ModbusTcpServer(device, address=(args.host, args.port))
    await server.serve_forever(background=True)
    print(json.dumps({
        "serial": box.serial, "host": args.host, "port": args.port, "serial_port": args.serial_port,
        "key_kind": box.public_key.kind, "public_key": box.public_key.hex, "next_sequence": box.next_sequence,
    }), flush=True)
    try:
        await server.serving
    finally:
        await server.shutdown()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m calibration.fieldbox.simulator", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5020)
    p.add_argument("--serial-port", help="serve Modbus RTU on this serial device instead of TCP")
    p.add_argument("--baudrate", type=int, default=9600)
    p.add_argument("--device-id", type=int, default=1, help="Modbus unit id (slave address)")
    p.add_argument("--serial", default="TB-SIM-1", help="the box's serial number")
    p.add_argument("--key-file", help="PEM file holding the device key; created if missing")
    p.add_argument("--key-kind", choices=KINDS, default="p256")
    p.add_argument("--cert-expires", help="YYYY-MM-DD expiry of the box's certificate (default: in a year)")
    p.add_argument("--behaviour", choices=sorted(PRESETS), default="exact", help="the pile's behaviour")
    p.add_argument("--pile-error-ppm", type=int, help="the pile meter's error in parts per million")
    p.add_argument("--display-error-ppm", type=int, help="the pile display's error (default: the meter's)")
    p.add_argument("--clock-drift-ms", type=int, help="the pile's clock minus true time")
    p.add_argument("--billing-error", help="CNY added to a correct bill, e.g. 0.05")
    p.add_argument("--tariff", help="CNY per kWh, e.g. 0.8000")
    p.add_argument("--voltage-mv", type=int)
    p.add_argument("--measure-seconds", type=float, default=0.2, help="how long a load point takes")
    p.add_argument("--state-file", help="JSON file keeping the next sequence number across restarts")
    p.add_argument("--start-sequence", type=int, default=1)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
