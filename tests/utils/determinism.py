"""A guard around the contracts of every block applied in the test suite: what one node could see
differently from another raises while a contract runs.

A contract reads only the transaction, the block and ledger-owned state. While the executor runs the
contracts of a block (ledger.execution.CONTRACT_GUARDS), this guard makes every project module's
view of the node-local world raise, in the applying thread only:
- the clock (datetime.now/utcnow/today, date.today, time.time..., django.utils.timezone.now),
- randomness (random, os.urandom, secrets, uuid.uuid1/uuid4),
- settings and the environment (django.conf.settings, os.environ, os.getenv),
- the network (socket connections; requests and urllib reach them),
- node-local tables: a SELECT issued from an app's code (not the executor's bookkeeping) may read
  only ledger-owned tables and the members' mirror, which follows the definition in force.

Project modules see these through their own globals (`import datetime as dt`, `from django.conf
import settings`, ...): the guard swaps those globals for guarded stand-ins for the duration, and
restores them after. Library code (Django's ORM reading USE_TZ, psycopg2) is left alone.
"""

from __future__ import annotations

import collections.abc
import contextlib
import datetime as _datetime
import os as _os
import random as _random
import re
import socket as _socket
import sys
import threading
import time as _time
import types
import uuid as _uuid
from pathlib import Path

from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
# The apps, and the tests' own contracts.
PROJECT_PACKAGES = ("ledger", "core", "registry", "gateway", "monitoring", "calibration", "settlement",
                    "subsidy", "dashboards", "tests")
# The executor's own modules: its bookkeeping reads ledger tables and settles this node's submissions.
EXECUTOR_MODULES = ("ledger.execution", "ledger.runs", "ledger.state.", "ledger.definition", __name__)
# Not ledger-owned, yet a contract may read it: it follows the definition in force (ledger.definition).
MIRRORED_TABLES = {"registry_institution"}


class NodeLocalInput(BaseException):
    """A contract reached something one node could see differently from another. A BaseException, so
    that no handler of the executor can take it for a verdict."""


_guarded_thread: int | None = None


def _active() -> bool:
    return _guarded_thread == threading.get_ident()


def _refuse(what: str, real):
    """`real`, except in the applying thread."""
    def refuse(*args, **kwargs):
        if _active():
            raise NodeLocalInput(f"a contract read {what} while a block was applied")
        return real(*args, **kwargs)
    return refuse


def _real_class(base, names):
    """Class methods that build instances build the real class's (no stand-in escapes the guard)."""
    def bind(name):
        real = getattr(base, name)
        return classmethod(lambda cls, *args, **kwargs: real(*args, **kwargs))
    return {name: bind(name) for name in names}


class _Meta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.__bases__[0])

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.__bases__[0])


class GuardedDatetime(_datetime.datetime, metaclass=_Meta):
    def __new__(cls, *args, **kwargs):
        return _datetime.datetime(*args, **kwargs)

    locals().update(_real_class(_datetime.datetime, ("fromtimestamp", "utcfromtimestamp", "fromisoformat",
                                                     "combine", "strptime", "fromordinal", "fromisocalendar")))

    @classmethod
    def now(cls, tz=None):
        if _active():
            raise NodeLocalInput("a contract read the clock (datetime.now) while a block was applied")
        return _datetime.datetime.now(tz)

    @classmethod
    def utcnow(cls):
        if _active():
            raise NodeLocalInput("a contract read the clock (datetime.utcnow) while a block was applied")
        return _datetime.datetime.utcnow()

    @classmethod
    def today(cls):
        if _active():
            raise NodeLocalInput("a contract read the clock (datetime.today) while a block was applied")
        return _datetime.datetime.today()


class GuardedDate(_datetime.date, metaclass=_Meta):
    def __new__(cls, *args, **kwargs):
        return _datetime.date(*args, **kwargs)

    locals().update(_real_class(_datetime.date, ("fromtimestamp", "fromisoformat", "fromordinal",
                                                 "fromisocalendar")))

    @classmethod
    def today(cls):
        if _active():
            raise NodeLocalInput("a contract read the clock (date.today) while a block was applied")
        return _datetime.date.today()


class _GuardedModule(types.ModuleType):
    """A module as a project module sees it under the guard: some names refuse, the rest pass."""

    def __init__(self, real: types.ModuleType, replaced: dict):
        super().__init__(real.__name__)
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_replaced", replaced)

    def __getattr__(self, name):
        replaced = object.__getattribute__(self, "_replaced")
        if name in replaced and _active():
            return replaced[name]
        return getattr(object.__getattribute__(self, "_real"), name)


class _GuardedEnviron(collections.abc.MutableMapping):
    def _real(self):
        if _active():
            raise NodeLocalInput("a contract read the environment while a block was applied")
        return _os.environ

    def __getitem__(self, key):
        return self._real()[key]

    def __setitem__(self, key, value):
        self._real()[key] = value

    def __delitem__(self, key):
        del self._real()[key]

    def __iter__(self):
        return iter(self._real())

    def __len__(self):
        return len(self._real())


class _GuardedSettings:
    def __getattr__(self, name):
        if _active():
            raise NodeLocalInput(f"a contract read settings.{name} while a block was applied")
        from django.conf import settings

        return getattr(settings, name)


def _stand_ins() -> dict[int, object]:
    """id(real object) -> its guarded stand-in, for the objects project modules hold in globals."""
    clock = {name: _refuse(f"the clock (time.{name})", getattr(_time, name)) for name in
             ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "localtime",
              "gmtime", "ctime", "strftime")}
    rnd = {name: _refuse(f"randomness (random.{name})", getattr(_random, name)) for name in
           ("random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "getrandbits",
            "randbytes", "gauss")}
    from django.conf import settings as real_settings
    from django.utils import timezone as dj_timezone

    stand_ins = {
        id(_datetime): _GuardedModule(_datetime, {"datetime": GuardedDatetime, "date": GuardedDate}),
        id(_datetime.datetime): GuardedDatetime,
        id(_datetime.date): GuardedDate,
        id(_time): _GuardedModule(_time, clock),
        id(_random): _GuardedModule(_random, rnd),
        id(_uuid): _GuardedModule(_uuid, {"uuid1": _refuse("randomness (uuid1)", _uuid.uuid1),
                                          "uuid4": _refuse("randomness (uuid4)", _uuid.uuid4)}),
        id(_uuid.uuid4): _refuse("randomness (uuid4)", _uuid.uuid4),
        id(_os): _GuardedModule(_os, {"environ": _GuardedEnviron(),
                                      "getenv": _refuse("the environment (os.getenv)", _os.getenv),
                                      "urandom": _refuse("randomness (os.urandom)", _os.urandom)}),
        id(real_settings): _GuardedSettings(),
        id(dj_timezone): _GuardedModule(dj_timezone, {
            "now": _refuse("the clock (timezone.now)", dj_timezone.now),
            "localtime": _refuse("the clock (timezone.localtime)", dj_timezone.localtime),
            "localdate": _refuse("the clock (timezone.localdate)", dj_timezone.localdate)}),
        id(dj_timezone.now): _refuse("the clock (timezone.now)", dj_timezone.now),
    }
    return stand_ins


def _project_modules():
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in PROJECT_PACKAGES or name.startswith(EXECUTOR_MODULES):
            continue
        yield module


_owned_tables: set[str] | None = None


def _allowed_tables() -> set[str]:
    global _owned_tables
    if _owned_tables is None:
        from ledger.state.rows import owned_models

        _owned_tables = {m._meta.db_table for m in owned_models()} | MIRRORED_TABLES
    return _owned_tables


_all_tables: set[str] | None = None
TABLE = re.compile(r'"([a-z_][a-z0-9_]*)"')


def _project_tables() -> set[str]:
    global _all_tables
    if _all_tables is None:
        from django.apps import apps

        _all_tables = {m._meta.db_table for m in apps.get_models()}
    return _all_tables


def _caller_module() -> str | None:
    """The innermost project module on the stack (the code that issued the query)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.split(".")[0] in PROJECT_PACKAGES:
            return name
        frame = frame.f_back
    return None


def _check_query(execute, sql, params, many, context):
    if _active() and sql.lstrip()[:6].upper() == "SELECT":
        caller = _caller_module()
        if caller is not None and not caller.startswith(EXECUTOR_MODULES):
            local = {t for t in TABLE.findall(sql) if t in _project_tables()} - _allowed_tables()
            if local:
                raise NodeLocalInput(f"{caller} read node-local table(s) {', '.join(sorted(local))} "
                                     "while a block was applied")
    return execute(sql, params, many, context)


_real_connect = _socket.socket.connect
_real_create_connection = _socket.create_connection


def _guarded_connect(self, *args, **kwargs):
    if _active():
        raise NodeLocalInput("a contract opened a network connection while a block was applied")
    return _real_connect(self, *args, **kwargs)


def _guarded_create_connection(*args, **kwargs):
    if _active():
        raise NodeLocalInput("a contract opened a network connection while a block was applied")
    return _real_create_connection(*args, **kwargs)


_lock = threading.Lock()


@contextlib.contextmanager
def contracts_guard():
    """Installed in ledger.execution.CONTRACT_GUARDS by the test suite's conftest."""
    global _guarded_thread
    if _guarded_thread is not None:  # nested (a dry run inside a block): already guarded
        yield
        return
    stand_ins = _stand_ins()
    swapped = []
    with _lock:
        for module in _project_modules():
            names = module.__dict__
            for name, value in list(names.items()):
                stand_in = stand_ins.get(id(value))
                if stand_in is not None:
                    swapped.append((names, name, value))
                    names[name] = stand_in
        _socket.socket.connect = _guarded_connect
        _socket.create_connection = _guarded_create_connection
        _guarded_thread = threading.get_ident()
    try:
        with contextlib.ExitStack() as stack:
            for alias in connections:
                if alias in connections.databases:
                    stack.enter_context(connections[alias].execute_wrapper(_check_query))
            yield
    finally:
        with _lock:
            _guarded_thread = None
            _socket.socket.connect = _real_connect
            _socket.create_connection = _real_create_connection
            for names, name, value in swapped:
                names[name] = value


def install() -> None:
    from ledger import execution

    if contracts_guard not in execution.CONTRACT_GUARDS:
        execution.CONTRACT_GUARDS.append(contracts_guard)

