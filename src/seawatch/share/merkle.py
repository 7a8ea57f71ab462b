"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

In: entries (bytes) or their leaf hashes. Out: tree heads (:func:`root`), proofs
(:func:`inclusion_proof`, :func:`consistency_proof`) and their checks
(:func:`verify_inclusion`, :func:`verify_consistency`).

Hashing (RFC 9162 §2.1.1): leaf ``SHA-256(0x00 || entry)``, node
``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``; a tree of n > 1 leaves
splits at k, the largest power of two below n. Proofs are built by the recursive
definitions of RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF) and checked by the
iterative algorithms of §2.1.3.2 and §2.1.4.2, so a bug in one is caught by the other; the
tests pin both to the Certificate Transparency reference vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "RootBuilder",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class RootBuilder:
    """Tree heads as leaves are appended: a stack of the perfect subtrees' roots (the
    binary digits of the size), so the head at any size costs O(log n)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, hash), sizes decreasing

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash."""
        size, h = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, h = left_size + size, node_hash(left, h)
        self._stack.append((size, h))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over the leaf hashes ``leaves``."""
    built = RootBuilder()
    for leaf in leaves:
        built.append(leaf)
    return built.root()


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]): the audit path of leaf ``index`` in the tree over ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    while hi - lo > 1:  # walk down, collecting siblings; the path lists them bottom-up
        k = _split(hi - lo)
        if m - lo < k:
            path.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaves, lo, lo + k))
            lo += k
    return path[::-1]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(first, D[n]): shows the tree of the first ``first`` leaves is a prefix."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"size {first} is not within a tree of {n}")
    if first in (0, n):
        return []
    out: list[bytes] = []
    lo, hi, m, whole = 0, n, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            out.append(_mth(leaves, lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append(_mth(leaves, lo, hi))
    return out[::-1]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put ``leaf`` at ``index`` in the tree ``root_hash``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32 or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``first_root`` (size ``first``) a prefix of the tree
    ``second_root`` (size ``second``)?"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof or any(len(p) != 32 for p in proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a node itself
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
