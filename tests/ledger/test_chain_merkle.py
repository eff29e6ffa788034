"""Merkle roots and inclusion proofs, checked against RFC 6962 written out recursively."""

import hashlib
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.chain.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    proof_from_hex,
    proof_to_hex,
    root_from_leaf_hashes,
    verify_inclusion,
    verify_leaf_inclusion,
)

FAST = settings(max_examples=150, deadline=None, database=None)


# The reference: RFC 6962 section 2.1 as written, independent of the code under test.


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_shape(m: int, n: int) -> list[str]:
    """Which side each audit-path sibling sits on: all a verifier can know of the tree."""
    if n == 1:
        return []
    k = _split(n)
    return ref_shape(m, k) + ["R"] if m < k else ref_shape(m - k, n - k) + ["L"]


leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@FAST
@given(st.lists(st.binary(max_size=12), max_size=70))
def test_root_matches_reference(leaves):
    assert merkle_root(leaves) == ref_mth(leaves)
    assert root_from_leaf_hashes([leaf_hash(x) for x in leaves]) == ref_mth(leaves)
    assert MerkleTree.from_leaves(leaves).root == ref_mth(leaves)


@FAST
@given(leaf_lists)
def test_every_index_has_the_reference_proof_and_verifies(leaves):
    tree = MerkleTree.from_leaves(leaves)
    root, n = tree.root, len(leaves)
    for m in range(n):
        proof = tree.inclusion_proof(m)
        assert proof == ref_path(m, leaves)
        assert verify_leaf_inclusion(leaves[m], m, n, proof, root)
        assert verify_inclusion(leaf_hash(leaves[m]), m, n, proof, root)
        assert proof_from_hex(proof_to_hex(proof)) == proof


@FAST
@given(leaf_lists, st.data())
def test_any_flipped_byte_fails(leaves, data):
    tree = MerkleTree.from_leaves(leaves)
    n = len(leaves)
    m = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(m)
    leaf_h = leaf_hash(leaves[m])
    what = data.draw(st.sampled_from(["leaf", "root"] + (["proof"] if proof else [])))
    bit = 1 << data.draw(st.integers(0, 7))
    pos = data.draw(st.integers(0, 31))

    def flip(b: bytes) -> bytes:
        return b[:pos] + bytes([b[pos] ^ bit]) + b[pos + 1 :]

    if what == "leaf":
        assert not verify_inclusion(flip(leaf_h), m, n, proof, tree.root)
    elif what == "root":
        assert not verify_inclusion(leaf_h, m, n, proof, flip(tree.root))
    else:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = proof[:i] + [flip(proof[i])] + proof[i + 1 :]
        assert not verify_inclusion(leaf_h, m, n, bad, tree.root)


@FAST
@given(leaf_lists)
def test_wrong_index_fails(leaves):
    assume(len(set(leaves)) == len(leaves))
    tree = MerkleTree.from_leaves(leaves)
    n = len(leaves)
    for m in range(n):
        proof = tree.inclusion_proof(m)
        for other in range(n + 2):
            if other != m:
                assert not verify_leaf_inclusion(leaves[m], other, n, proof, tree.root)


@FAST
@given(leaf_lists)
def test_wrong_size_fails_unless_the_path_shape_is_the_same(leaves):
    """A proof cannot tell size n from size n' when the leaf's path has the same shape in both;
    that is inherent to RFC 6962, and why the size must come from the signed header."""
    tree = MerkleTree.from_leaves(leaves)
    n = len(leaves)
    for m in range(n):
        proof = tree.inclusion_proof(m)
        for size in range(0, 2 * n + 3):
            if size == n:
                continue
            same_shape = m < size and ref_shape(m, size) == ref_shape(m, n)
            assert verify_leaf_inclusion(leaves[m], m, size, proof, tree.root) == same_shape


@FAST
@given(leaf_lists, leaf_lists)
def test_proof_for_another_tree_fails(leaves, others):
    assume(ref_mth(leaves) != ref_mth(others))
    mine, theirs = MerkleTree.from_leaves(leaves), MerkleTree.from_leaves(others)
    for m in range(min(len(leaves), len(others))):
        if mine.inclusion_proof(m) == theirs.inclusion_proof(m):
            continue  # e.g. two one-leaf trees: both proofs are empty
        assert not verify_leaf_inclusion(leaves[m], m, len(leaves), theirs.inclusion_proof(m), mine.root)
        assert not verify_leaf_inclusion(leaves[m], m, len(leaves), mine.inclusion_proof(m), theirs.root)


@FAST
@given(leaf_lists, st.data())
def test_truncated_or_extended_proof_fails(leaves, data):
    tree = MerkleTree.from_leaves(leaves)
    n = len(leaves)
    m = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(m)
    extra = data.draw(st.binary(min_size=32, max_size=32))
    assert not verify_leaf_inclusion(leaves[m], m, n, proof + [extra], tree.root)
    assert not verify_leaf_inclusion(leaves[m], m, n, [extra] + proof, tree.root)
    if proof:
        assert not verify_leaf_inclusion(leaves[m], m, n, proof[:-1], tree.root)
        assert not verify_leaf_inclusion(leaves[m], m, n, proof[1:], tree.root)


def test_leaf_is_not_an_inner_node():
    """Domain separation: the two children of a node, presented as one leaf, do not verify."""
    leaves = [b"a", b"b", b"c", b"d"]
    tree = MerkleTree.from_leaves(leaves)
    forged_leaf = leaf_hash(b"a") + leaf_hash(b"b")
    assert not verify_leaf_inclusion(forged_leaf, 0, 2, [node_hash(leaf_hash(b"c"), leaf_hash(b"d"))], tree.root)
    assert verify_inclusion(node_hash(leaf_hash(b"a"), leaf_hash(b"b")), 0, 2, [tree.levels[1][1]], tree.root)
    # ...which is exactly why callers must take the size from a trusted header, not from the prover.


garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.lists(st.binary(max_size=40) | st.integers() | st.none(), max_size=4),
)


@settings(max_examples=300, deadline=None, database=None)
@given(garbage, garbage, garbage, garbage, garbage)
def test_verify_never_raises(leaf, index, size, proof, root):
    assert verify_inclusion(leaf, index, size, proof, root) is False or isinstance(leaf, bytes)
    assert verify_leaf_inclusion(leaf, index, size, proof, root) in (True, False)


def test_edge_cases():
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    one = MerkleTree.from_leaves([b"x"])
    assert one.root == leaf_hash(b"x") and one.inclusion_proof(0) == []
    assert verify_leaf_inclusion(b"x", 0, 1, [], one.root)
    assert not verify_leaf_inclusion(b"x", 0, 0, [], one.root)
    assert not verify_leaf_inclusion(b"x", -1, 1, [], one.root)
    assert not verify_leaf_inclusion(b"x", True, 2, [leaf_hash(b"x")], one.root)
    assert not verify_leaf_inclusion(b"x", 0, 2**64, [], one.root)
    assert not verify_inclusion(leaf_hash(b"x"), 0, 1, [], one.root[:31])
    assert not verify_inclusion(leaf_hash(b"x"), 0, 1, (), "not bytes")
    empty = MerkleTree([])
    assert empty.size == 0 and empty.root == EMPTY_ROOT
    with pytest.raises(IndexError):
        empty.inclusion_proof(0)
    with pytest.raises(IndexError):
        one.inclusion_proof(1)
    with pytest.raises(IndexError):
        one.inclusion_proof(-1)
    with pytest.raises(ValueError):
        MerkleTree([b"short"])
    assert inclusion_proof([b"a", b"b", b"c"], 2) == ref_path(2, [b"a", b"b", b"c"])


@pytest.mark.parametrize("items", [None, "ab", ["AB" * 32], ["ab" * 31], [5], ["zz" * 32]])
def test_proof_from_hex_refuses_malformed(items):
    with pytest.raises(ValueError):
        proof_from_hex(items)


def test_ten_thousand_leaves_many_proofs():
    rnd = random.Random(7)
    leaves = [rnd.randbytes(32) for _ in range(10_000)]
    tree = MerkleTree.from_leaves(leaves)
    assert tree.root == merkle_root(leaves)
    for m in list(range(0, 10_000, 97)) + [9_999, 8_191, 8_192]:
        proof = tree.inclusion_proof(m)
        assert len(proof) <= 14
        assert verify_leaf_inclusion(leaves[m], m, 10_000, proof, tree.root)
    assert tree.inclusion_proof(9_999) == ref_path(9_999 - 8_192, leaves[8_192:]) + [ref_mth(leaves[:8_192])]


def test_documented_vector():
    """The test vector in docs/ledger-chain.md."""
    tree = MerkleTree.from_leaves([b"a", b"b", b"c"])
    assert tree.root.hex() == "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1"
    assert proof_to_hex(tree.inclusion_proof(2)) == ["b137985ff484fb600db93107c77b0365c80d78f5b429ded0fd97361d077999eb"]
