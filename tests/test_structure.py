"""The structure guard of issue #16: every import of the project's packages, read with `ast`
(tests/utils/structure.py), against the layer order ledger < core < registry < the other apps < config.

Each count is a ratchet: it may not rise above RATCHET, and when it falls the ratchet must be lowered
to the new figure in the same change, so the numbers only go down. Issue #16 is resolved when every
figure is zero. docs/architecture.md ("Layers and the import guard") says what each count means;
scripts/structure prints them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.utils import structure

ROOT = Path(__file__).resolve().parent.parent

# Today's figures (commit ba153a8). Lower them as the layering is repaired; never raise them.
RATCHET = {
    "upward_imports": 0,
    "module_circles": 0,
    "app_circles": 0,
    "contract_violations": 0,
    "config_imports": 0,
    "submit_outside": 0,
    "dynamic_imports": 0,
    "function_imports": 0,
    "harness_imports": 0,
}


def ratchet_problems(counts: dict[str, int], details: dict[str, list[str]], ratchet: dict[str, int]) -> list[str]:
    """What is wrong with `counts` against `ratchet`: a rise (with the items, so one sees what to fix)
    or a fall the ratchet has not followed."""
    if set(ratchet) != set(structure.COUNT_NAMES):
        raise ValueError(f"the ratchet names {sorted(ratchet)}, the guard counts {list(structure.COUNT_NAMES)}")
    problems = []
    for name in structure.COUNT_NAMES:
        measured, allowed = counts[name], ratchet[name]
        if measured > allowed:
            items = "\n".join(f"    {item}" for item in details[name])
            problems.append(f"{name} rose to {measured} (ratchet {allowed}):\n{items}")
        elif measured < allowed:
            problems.append(f"{name} fell to {measured}: lower the ratchet to {measured} in tests/test_structure.py")
    return problems


def test_the_project_keeps_to_its_ratchet():
    report = structure.measure_tree(ROOT)
    problems = ratchet_problems(report.counts, report.details, RATCHET)
    assert not problems, "\n".join(problems)


def test_a_ratchet_check_reports_a_rise_with_its_items_and_a_fall_as_lower_the_ratchet():
    counts = dict(RATCHET, upward_imports=RATCHET["upward_imports"] + 1, dynamic_imports=0, function_imports=3)
    details = {name: [] for name in structure.COUNT_NAMES}
    details["upward_imports"] = ["ledger.x:1 -> config.y"]
    ratchet = dict(RATCHET, function_imports=4)
    problems = ratchet_problems(counts, details, ratchet)
    assert len(problems) == 2
    assert "upward_imports rose to" in problems[0] and "ledger.x:1 -> config.y" in problems[0]
    assert problems[1] == "function_imports fell to 3: lower the ratchet to 3 in tests/test_structure.py"
    with pytest.raises(ValueError, match="the ratchet names"):
        ratchet_problems(counts, details, {"upward_imports": 0})


# --- the reader on small synthetic trees: each kind of violation is caught ------------------------


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if parent != Path(".") and not (root / parent / "__init__.py").exists():
                (root / parent / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(text))
    return root


def test_an_upward_import_and_an_import_of_config_are_counted(tmp_path):
    make_tree(tmp_path, {
        "ledger/api.py": "from config.api_auth import Permission\n",
        "config/api_auth.py": "from ledger import models\n",
        "ledger/models.py": "",
        "registry/views.py": "from ledger.models import Block\n",  # downward: allowed
    })
    report = structure.measure_tree(tmp_path)
    assert report.counts["upward_imports"] == 1
    assert report.details["upward_imports"] == ["ledger.api:1 -> config.api_auth: layer 0 imports layer 4"]
    assert report.counts["config_imports"] == 1
    # ledger -> config -> ledger is a circle between apps, though no module imports itself back
    assert report.counts["module_circles"] == 0
    assert report.details["app_circles"] == ["config <-> ledger"]


def test_a_circle_closed_inside_a_function_is_counted_with_its_members(tmp_path):
    make_tree(tmp_path, {
        "monitoring/a.py": "from . import b\n",
        "monitoring/b.py": "from .c import thing\n",
        "monitoring/c.py": """\
            def f():
                from monitoring.a import x
                import json
                import csv  # lazy-import: only the export needs it
                from monitoring import (
                    e,
                )  # lazy-import:
            """,
        "monitoring/d.py": "from monitoring import a\n",  # points into the circle, is not part of it
        "monitoring/e.py": "",
    })
    report = structure.measure_tree(tmp_path)
    assert report.details["module_circles"] == ["monitoring.a <-> monitoring.b <-> monitoring.c"]
    assert report.counts["module_circle_members"] == 3
    # the one with a reason is allowed; an empty reason is none
    assert report.details["function_imports"] == [
        "monitoring.c:2: from monitoring.a import x",
        "monitoring.c:3: import json",
        "monitoring.c:5: from monitoring import e",
    ]
    assert structure.read_tree(tmp_path)["monitoring.c"].reasoned_function_imports == [(4, "only the export needs it")]
    assert report.counts["app_circles"] == 0


def test_a_contract_importing_services_selectors_or_the_submit_module_is_counted(tmp_path):
    make_tree(tmp_path, {
        "settlement/contracts_billing.py": "from settlement.services import pay\nfrom settlement import models\n",
        "settlement/services.py": "",
        "settlement/models.py": "",
        "calibration/contracts.py": "from monitoring.selectors.faults import open_faults\nfrom core import submit\n",
        "monitoring/selectors/faults.py": "",
        "core/submit.py": "",
    })
    report = structure.measure_tree(tmp_path)
    assert report.details["contract_violations"] == [
        "calibration.contracts:1 -> monitoring.selectors.faults",
        "calibration.contracts:2 -> core.submit",
        "settlement.contracts_billing:1 -> settlement.services",
    ]


def test_submitting_outside_the_submit_module_is_counted(tmp_path):
    make_tree(tmp_path, {
        "ledger/services.py": "def node_submit(): pass\n",
        "ledger/runs.py": "from ledger.services import node_submit\n",  # the ledger itself may
        "core/submit.py": "from ledger.services import node_submit, tx_submit\n",  # the one allowed
        "subsidy/services.py": "from ledger.services import node_submit\n",
        "gateway/devices.py": "from ledger.chain.tx import Transaction\ntx = Transaction.create(chain_id='c')\n",
        "ledger/chain/tx.py": "",
        "registry/views.py": "from ledger.services import Submission\n",  # a type, not a submission
    })
    report = structure.measure_tree(tmp_path)
    assert report.details["submit_outside"] == [
        "gateway.devices: line 2 calls Transaction.create",
        "subsidy.services: line 1 imports node_submit",
    ]


def test_a_dynamic_import_outside_the_allow_list_is_counted(tmp_path):
    make_tree(tmp_path, {
        "gateway/plugins.py": """\
            import importlib
            from django.apps import apps

            def load(name):
                importlib.import_module(name)
                apps.get_model("registry", "Pile")
                return __import__(name)
            """,
        "ledger/apps.py": "from importlib import import_module\nimport_module('tests.faults')\n",  # allowed
        "ledger/migrations/0002_data.py": "from django.apps import apps\napps.get_model('ledger', 'Block')\n",
    })
    report = structure.measure_tree(tmp_path)
    assert report.details["dynamic_imports"] == [
        "gateway.plugins:5 calls importlib.import_module",
        "gateway.plugins:6 calls apps.get_model",
        "gateway.plugins:7 calls __import__",
    ]


def test_type_checking_imports_are_left_out_and_relative_imports_resolved(tmp_path):
    make_tree(tmp_path, {
        "ledger/state/rows.py": """\
            from typing import TYPE_CHECKING
            from .. import models
            from ..chain import tx
            if TYPE_CHECKING:
                from config.settings import X
            """,
        "ledger/models.py": "",
        "ledger/chain/tx.py": "",
        "config/settings.py": "",
    })
    modules = structure.read_tree(tmp_path)
    assert [(i.target, i.type_checking) for i in modules["ledger.state.rows"].imports] == [
        ("ledger.models", False), ("ledger.chain.tx", False), ("config.settings", True)]
    assert structure.measure(modules).counts["upward_imports"] == 0


def test_bad_input_gets_a_clear_error(tmp_path):
    make_tree(tmp_path, {"ledger/broken.py": "def f(:\n"})
    with pytest.raises(ValueError, match="broken.py: cannot be parsed"):
        structure.measure_tree(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        structure.measure_tree(tmp_path / "missing")
    make_tree(tmp_path / "other", {"ledger/x.py": "from ... import y\n"})
    with pytest.raises(ValueError, match="relative import beyond the top-level package"):
        structure.measure_tree(tmp_path / "other")


def test_the_library_importing_its_test_harness_is_counted(tmp_path):
    make_tree(tmp_path, {
        "ledger/pbft/replica.py": "from ledger.pbfttest import simulation\n",
        "ledger/pbfttest/simulation.py": "from ledger.pbft import replica\n",  # the harness uses the library
    })
    report = structure.measure_tree(tmp_path)
    assert report.details["harness_imports"] == ["ledger.pbft.replica:1 -> ledger.pbfttest.simulation"]
