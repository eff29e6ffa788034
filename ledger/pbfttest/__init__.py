"""Test harness for the PBFT core (ledger.pbft), kept beside the library rather than inside it, as
etcd-io/raft keeps its `rafttest`: the simulator drives replicas through a seeded faulty network and
checks the invariants. Nothing under ledger/pbft imports this package."""
