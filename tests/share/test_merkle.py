"""The Merkle log's hashing and proofs agree with RFC 6962/9162: the Certificate
Transparency reference vectors, and for random trees every proof verifies while any change
to it (a hash, the index, a root, a proof cut short or lengthened) makes it fail. (A proof
alone does not bind the tree size: the same hashes can describe a tree of another size
whose right edge is an interior node. The signed checkpoint binds size to root; see
test_log.py.)"""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.share import merkle

# The reference tree of the Certificate Transparency test suite: entries and the root of
# the tree of the first n of them (n = 0..8), then proofs in it (1-based leaves there).
ENTRIES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
           "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (0-based index, tree size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]


def test_roots_match_the_reference_tree() -> None:
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    for n, want in enumerate(ROOTS):
        assert merkle.root(LEAVES[:n]).hex() == want, n


def test_proofs_match_the_reference_proofs() -> None:
    for index, size, want in INCLUSION:
        proof = merkle.inclusion_proof(index, LEAVES[:size])
        assert [p.hex() for p in proof] == want
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_inclusion(index, size, LEAVES[index], proof, root)
    for first, second, want in CONSISTENCY:
        proof = merkle.consistency_proof(first, LEAVES[:second])
        assert [p.hex() for p in proof] == want
        old, new = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
        assert merkle.verify_consistency(first, second, proof, old, new)


def _naive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition (the reference for RootBuilder)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


def _flip(b: bytes, at: int) -> bytes:
    at %= len(b)
    return b[:at] + bytes([b[at] ^ 1]) + b[at + 1 :]


trees = st.lists(st.binary(max_size=8), min_size=1, max_size=70).map(
    lambda entries: [merkle.leaf_hash(e) for e in entries]
)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_inclusion_proof_verifies_and_any_change_fails(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    root = merkle.root(leaves)
    assert root == _naive_root(leaves)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(i, leaves)
    assert merkle.verify_inclusion(i, n, leaves[i], proof, root)
    assert not merkle.verify_inclusion(i, n, _flip(leaves[i], i), proof, root)
    assert not merkle.verify_inclusion(i, n, leaves[i], proof, _flip(root, n))
    if n > 1:
        j = data.draw(st.integers(0, n - 1).filter(lambda j: leaves[j] != leaves[i]))
        assert not merkle.verify_inclusion(j, n, leaves[i], proof, root)
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], at), *proof[at + 1 :]]
        assert not merkle.verify_inclusion(i, n, leaves[i], bad, root)
        assert not merkle.verify_inclusion(i, n, leaves[i], proof[:-1], root)
        assert not merkle.verify_inclusion(i, n, leaves[i], [*proof, proof[0]], root)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_consistency_proof_verifies_and_any_change_fails(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    m = data.draw(st.integers(0, n))
    old, new = merkle.root(leaves[:m]), merkle.root(leaves)
    proof = merkle.consistency_proof(m, leaves)
    assert merkle.verify_consistency(m, n, proof, old, new)
    if 0 < m < n:
        assert not merkle.verify_consistency(m, n, proof, _flip(old, m), new)
        assert not merkle.verify_consistency(m, n, proof, old, _flip(new, n))
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], at), *proof[at + 1 :]]
        assert not merkle.verify_consistency(m, n, bad, old, new)
        assert not merkle.verify_consistency(m, n, proof[:-1], old, new)
        # a forked history: the same size, one entry changed, is never consistent
        forked = [*leaves[: m - 1], _flip(leaves[m - 1], 0), *leaves[m:]]
        assert not merkle.verify_consistency(m, n, proof, old, merkle.root(forked))
