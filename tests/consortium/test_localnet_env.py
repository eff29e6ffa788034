"""LocalNet's per-node environment: what each node's processes get, and which PostgreSQL databases
prepare() creates and drop_databases() removes. No processes are started."""

from __future__ import annotations

import pytest

from config.localnet import FOUR_NODES, LocalNet, parse_specs

BASE = {"DATABASE_URL": "postgres://pg@db.example:5432/ln_{node}", "REDIS_URL": "redis://cache.example:6379/3",
        "PATH": "/usr/bin"}


def test_without_node_env_every_node_gets_the_base_environment(tmp_path):
    net = LocalNet(parse_specs(FOUR_NODES, 8001), var_dir=tmp_path, base_env=BASE)
    for spec in net.specs:
        env = net.env_for(spec)
        assert env["PILECHAIN_NODE"] == spec.code and env["DATABASE_URL"] == BASE["DATABASE_URL"]
        assert net.nodes[spec.code].env == env
    assert net._database_names() == ["ln_operator_a", "ln_metrology", "ln_grid", "ln_regulator"]


def test_node_env_overrides_and_removes_per_node(tmp_path):
    net = LocalNet(parse_specs(FOUR_NODES, 8001), var_dir=tmp_path, base_env=BASE, node_env={
        "METROLOGY": {"DATABASE_URL": None}, "GRID": {"DATABASE_URL": None, "PILECHAIN_TICK_MS": "20"}})
    envs = {spec.code: net.env_for(spec) for spec in net.specs}
    # The SQLite nodes have no DATABASE_URL at all (settings then use var/<node>/db.sqlite3).
    assert "DATABASE_URL" not in envs["METROLOGY"] and "DATABASE_URL" not in envs["GRID"]
    assert envs["GRID"]["PILECHAIN_TICK_MS"] == "20" and "PILECHAIN_TICK_MS" not in envs["METROLOGY"]
    assert envs["OPERATOR-A"]["DATABASE_URL"] == envs["REGULATOR"]["DATABASE_URL"] == BASE["DATABASE_URL"]
    assert all(env["REDIS_URL"] == BASE["REDIS_URL"] for env in envs.values())
    assert {code: net.nodes[code].env for code in envs} == envs  # what the processes are started with
    assert net._database_names() == ["ln_operator_a", "ln_regulator"]  # made and dropped: PostgreSQL nodes only
    assert net.base_env["DATABASE_URL"] == BASE["DATABASE_URL"]  # the overrides are the node's, not everyone's


def test_node_env_for_a_node_that_is_not_a_member_is_refused(tmp_path):
    with pytest.raises(ValueError, match="OPERATOR-B"):
        LocalNet(parse_specs(FOUR_NODES, 8001), var_dir=tmp_path, base_env=BASE, node_env={"OPERATOR-B": {"X": "1"}})


def test_the_run_command_starts_two_competing_operators(tmp_path):
    """The default consortium (scripts/run): five nodes, the four above plus a second operator on the
    next port, so the existing addresses stay where they were."""
    net = LocalNet(parse_specs(None, 8001), var_dir=tmp_path, base_env=BASE)
    assert [(s.code, s.role, s.port) for s in net.specs] == [
        ("OPERATOR-A", "operator", 8001), ("METROLOGY", "metrology", 8002), ("GRID", "grid", 8003),
        ("REGULATOR", "regulator", 8004), ("OPERATOR-B", "operator", 8005)]
    assert net._database_names()[-1] == "ln_operator_b"
