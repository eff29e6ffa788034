"""Talk to a test box over Modbus TCP or RTU and take one signed measurement record from it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException

from calibration.fieldbox import codec
from calibration.fieldbox import registers as reg
from calibration.fieldbox.certificate import date_from_yyyymmdd, require_testbox_usable
from calibration.fieldbox.record import FieldboxError


class AgentError(Exception):
    """Something the staff on site must fix: the link, the box's state, an expired box."""


@dataclass(frozen=True)
class BoxInfo:
    serial: str
    map_version: int
    cert_expires: date
    key_kind: str | None
    public_key_hex: str


class BoxClient:
    def __init__(self, *, host=None, port=502, serial_port=None, baudrate=9600, device_id=1, timeout=3.0):
        if serial_port:
            self.where = f"serial line {serial_port}"
            self.client = ModbusSerialClient(serial_port, baudrate=baudrate, timeout=timeout)
        else:
            self.where = f"{host}:{port}"
            self.client = ModbusTcpClient(host, port=port, timeout=timeout)
        self.device_id = device_id

    def __enter__(self):
        if not self.client.connect():
            raise AgentError(f"cannot connect to the test box at {self.where}: check the cable, the address "
                             "and that the box is switched on")
        return self

    def __exit__(self, *exc):
        self.client.close()

    # -- raw access, every failure turned into a message for the staff -------------------------------

    def _call(self, what: str, request, *args, **kwargs):
        try:
            response = request(*args, device_id=self.device_id, **kwargs)
        except ModbusException as exc:
            raise AgentError(f"test box at {self.where} did not answer ({what}): {exc}") from exc
        if response.isError():
            raise AgentError(self._refusal(what, response))
        return response

    def _refusal(self, what: str, response) -> str:
        code = getattr(response, "exception_code", None)
        error = None
        # ERROR_CODE explains only a refused command (illegal value, or busy); for other exceptions it
        # may still hold an older command's reason.
        if code in (ExcCodes.ILLEGAL_VALUE, ExcCodes.DEVICE_BUSY):
            try:
                error = self.read_input(reg.INPUT["ERROR_CODE"].address, 1)[0]
            except AgentError:
                pass
        reason = reg.ERRORS.get(error, f"error code {error}") if error else f"Modbus exception {code}"
        return f"test box refused {what}: {reason}"

    def read_input(self, address: int, count: int) -> list[int]:
        return list(self._call(f"read of input registers {address}..{address + count - 1}",
                               self.client.read_input_registers, address, count=count).registers)

    def write(self, what: str, address: int, values: list[int]) -> None:
        self._call(what, self.client.write_registers, address, values)

    def command(self, name: str, code: int) -> None:
        self.write(name, reg.HOLDING["COMMAND"].address, [code])

    def field(self, name: str):
        f = reg.INPUT[name]
        return reg.decode(f, self.read_input(f.address, f.words))

    # -- the procedure -------------------------------------------------------------------------------

    def info(self) -> BoxInfo:
        header = self.read_input(*reg.HEADER_SPAN)
        keys = self.read_input(*reg.SIGNATURE_SPAN)
        version = reg.get(header, reg.INPUT["MAP_VERSION"])
        if version != reg.MAP_VERSION:
            raise AgentError(f"the box speaks register map version {version}; this agent knows {reg.MAP_VERSION}")
        kind, raw = codec.public_key_from_registers(header, keys)
        try:
            expires = date_from_yyyymmdd(reg.get(header, reg.INPUT["CERT_EXPIRES"]))
        except FieldboxError as exc:
            raise AgentError(f"the box reports no valid certificate expiry: {exc}") from exc
        return BoxInfo(serial=reg.get(header, reg.INPUT["BOX_SERIAL"]), map_version=version,
                       cert_expires=expires, key_kind=kind, public_key_hex=raw.hex())

    def take_record(self, *, pile_code: str, load_points: list[tuple[int, int]], today: date,
                    point_timeout: float = 30.0) -> dict:
        """Measure at each (current mA, energy mWh) load point, seal, and read back the signed record."""
        info = self.info()
        try:
            require_testbox_usable(info.serial, info.cert_expires, today)
        except FieldboxError as exc:
            raise AgentError(str(exc)) from exc
        if not 1 <= len(load_points) <= reg.MAX_LOAD_POINTS:
            raise AgentError(f"give 1 to {reg.MAX_LOAD_POINTS} load points")
        try:
            code_words = reg.encode(reg.HOLDING["PILE_CODE"], pile_code)
        except reg.RegisterError as exc:
            raise AgentError(f"pile code {pile_code!r} cannot be sent to the box: {exc}") from exc
        self.write("the pile code", reg.HOLDING["PILE_CODE"].address, code_words)
        self.command("NEW_RECORD", reg.CMD_NEW_RECORD)
        for i, (current_ma, energy_mwh) in enumerate(load_points):
            setpoint = (reg.encode(reg.HOLDING["LOAD_CURRENT_MA"], current_ma)
                        + reg.encode(reg.HOLDING["LOAD_ENERGY_MWH"], energy_mwh))
            self.write(f"load point {i + 1} setpoint", reg.HOLDING["LOAD_CURRENT_MA"].address, setpoint)
            self.command(f"MEASURE at load point {i + 1}", reg.CMD_MEASURE)
            self._wait(f"load point {i + 1}", point_timeout,
                       lambda n=i + 1: self.field("STATUS") == reg.POINT_DONE and self.field("LOAD_POINT_COUNT") == n)
        self.command("SEAL", reg.CMD_SEAL)
        self._wait("the sealed record", point_timeout, lambda: self.field("RECORD_READY") == 1)
        record = self._read_sealed()
        if record["pile_code"] != pile_code or record["box_serial"] != info.serial:
            raise AgentError("the box sealed a record for another pile or under another serial: "
                             "is another laptop talking to it?")
        return record

    def _read_sealed(self) -> dict:
        # The box only rewrites a sealed record on NEW_RECORD; reading the sequence number before and
        # after the three reads catches another client starting a record in between.
        header = self.read_input(*reg.HEADER_SPAN)
        count = reg.get(header, reg.INPUT["LOAD_POINT_COUNT"])
        points = self.read_input(reg.LOAD_POINT_BASE, max(count, 1) * reg.LOAD_POINT_STRIDE)
        signature = self.read_input(*reg.SIGNATURE_SPAN)
        if self.field("SEQUENCE") != reg.get(header, reg.INPUT["SEQUENCE"]) or self.field("RECORD_READY") != 1:
            raise AgentError("the record changed while it was being read; take the measurement again")
        try:
            return codec.record_from_registers(header, points, signature)
        except (FieldboxError, reg.RegisterError) as exc:
            raise AgentError(f"the box's record is malformed: {exc}") from exc

    def _wait(self, what: str, timeout: float, done) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.field("STATUS") == reg.FAULT:
                raise AgentError(f"the box reports a fault while measuring {what}")
            if time.monotonic() > deadline:
                raise AgentError(f"the box did not finish {what} within {timeout:g} s")
            time.sleep(0.05)
