"""The repository's top level must not shadow the standard library (a package named `platform`
breaks uuid, and with it Django and Celery), nor the libraries the apps use."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES_WE_USE = {"ocpp", "celery", "channels", "django", "redis", "pymodbus", "cryptography"}


def top_level_python_names() -> dict[str, Path]:
    names = {}
    for entry in ROOT.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".py":
            names[entry.stem] = entry
        elif entry.is_dir() and (entry / "__init__.py").exists():
            names[entry.name] = entry
    return names


def test_no_top_level_module_shadows_the_standard_library():
    clashes = {name: str(path) for name, path in top_level_python_names().items() if name in sys.stdlib_module_names}
    assert clashes == {}


def test_no_app_is_named_after_a_library_it_uses():
    clashes = set(top_level_python_names()) & LIBRARIES_WE_USE
    assert clashes == set()


def test_the_guard_sees_packages_and_modules():
    names = top_level_python_names()
    assert {"config", "ledger", "registry", "manage"} <= set(names)


def test_platform_is_a_plain_folder():
    assert (ROOT / "platform").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists()
