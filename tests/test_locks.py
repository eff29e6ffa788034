"""The dependency locks match their inputs (offline: no index is asked).

scripts/lock writes, at the top of each lock, the sha256 of every input file it was compiled from. An
input edited without a refreshed lock would install yesterday's resolution (or fail on a fresh
machine), so a stale lock fails here with the command that mends it.
"""

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ["requirements.txt", "requirements-test.txt", "calibration/fieldagent/requirements.txt"]
INPUT_LINE = re.compile(r"^# input (?P<path>\S+) sha256=(?P<sha>[0-9a-f]{64})$", re.M)
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)", re.M)
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    return {canonical(m["name"]): m["version"] for m in PIN.finditer(lock.read_text())}


def inputs_of(lock: Path) -> list[tuple[Path, str]]:
    return [(lock.parent / m["path"], m["sha"]) for m in INPUT_LINE.finditer(lock.read_text())]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_input_of_a_lock_is_as_it_was_locked(lock):
    path = ROOT / lock
    found = inputs_of(path)
    assert found, f"{lock} names no inputs: refresh it with scripts/lock"
    stale = [str(p.relative_to(ROOT)) for p, sha in found
             if hashlib.sha256(p.read_bytes()).hexdigest() != sha]
    assert stale == [], f"{', '.join(stale)} changed since {lock} was written: run scripts/lock"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_package_in_a_lock_is_pinned_with_hashes(lock):
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
    bare = [e.split()[0] for e in entries if e.strip() and not e.startswith("#") and "--hash=sha256:" not in e]
    assert bare == []
    assert len(PIN.findall(text)) == len([e for e in entries if e.strip() and not e.startswith("#")])


@pytest.mark.parametrize("lock", LOCKS)
def test_what_an_input_asks_for_is_in_its_lock_at_that_version(lock):
    path = ROOT / lock
    locked = pins(path)
    wanted = {}
    for input_path, _ in inputs_of(path):
        if input_path.suffix == ".in":
            for m in REQUIREMENT.finditer(input_path.read_text()):
                line = input_path.read_text()[m.start():].split("\n", 1)[0]
                wanted[canonical(m["name"])] = line.split("==", 1)[1].split()[0]
    assert wanted
    assert {name: locked.get(name) for name in wanted} == wanted


def test_the_test_lock_and_the_agent_lock_run_the_versions_a_node_runs():
    node = pins(ROOT / "requirements.txt")
    for lock in LOCKS[1:]:
        other = pins(ROOT / lock)
        assert {n: v for n, v in other.items() if n in node and node[n] != v} == {}, lock
    assert set(node) <= set(pins(ROOT / "requirements-test.txt"))


def test_the_node_lock_brings_what_celery_needs_for_redis():
    # The bug behind the fresh-machine failure: kombu's Redis transport imports `packaging`, which
    # only celery's [redis] extra brings; the test tools brought it by chance.
    assert {"kombu", "redis", "packaging"} <= set(pins(ROOT / "requirements.txt"))
