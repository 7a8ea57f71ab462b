"""Tampering at scale: 10,000 bundles mutated in memory (byte flips, truncations, parts
reordered, dropped or taken from another bundle, manifest fields changed, the manifest
re-signed with another node's key or sent to another audience) are each rejected with
:class:`BundleRejected` naming a known check, never another exception, and the original
still verifies. A plain loop with a fixed seed (fast, and the same cases every run)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seawatch.share.errors import BundleRejected
from seawatch.share.outbox import read_files
from seawatch.share.receive import verify_bundle
from seawatch.share.seal import MANIFEST_TYPE, dsse_envelope

from .conftest import NodeDir
from .test_bundles import fill, pin, store_of

MakeNode = Callable[[str, str], NodeDir]
Files = dict[str, bytes]
CASES = 10_000
MANIFEST = "manifest.dsse.json"
CHECKS = {"manifest", "originator", "signature", "audience", "proof", "fork", "digest",
          "decrypt", "label", "schema"}  # fmt: skip


def _meaning(files: Files) -> Any:
    """What a bundle says, whitespace and base64 padding bits aside: a change that leaves
    this equal is no tampering (the envelope's layout is not signed; its content is)."""
    try:
        env = json.loads(files[MANIFEST])
        payload = json.loads(base64.b64decode(env["payload"], validate=True))
        sigs = [(s["keyid"], base64.b64decode(s["sig"], validate=True)) for s in env["signatures"]]
        rest = {k: v for k, v in env.items() if k not in ("payload", "signatures")}
    except Exception:
        return None
    parts = {k: v for k, v in files.items() if k != MANIFEST}
    return (payload, sigs, rest, parts)


def _export(node: NodeDir, to: str, out: Path) -> Files:
    node.run("share", "export", "--again", "--to", to, str(out))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return read_files(folder)


def _resigned(files: Files, signer: NodeDir, edit: Callable[[dict[str, Any]], None]) -> Files:
    env = json.loads(files[MANIFEST])
    manifest = json.loads(base64.b64decode(env["payload"]))
    edit(manifest)
    payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    me = signer.node()
    return {**files, MANIFEST: dsse_envelope(payload, MANIFEST_TYPE, me.keys, me.name)}


def _unsigned_edit(files: Files, rng: random.Random) -> Files:
    env = json.loads(files[MANIFEST])
    manifest = json.loads(base64.b64decode(env["payload"]))
    field = rng.choice(["bundle_id", "created", "counts", "parts", "release", "audience"])
    manifest[field] = {"parts": [], "counts": {"UNCLASSIFIED": 1}}.get(field, "f" * 32)
    env["payload"] = base64.b64encode(json.dumps(manifest).encode()).decode()
    return {**files, MANIFEST: json.dumps(env).encode()}


@pytest.mark.slow
def test_ten_thousand_mutated_bundles_are_rejected(make_node: MakeNode, tmp_path: Path) -> None:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    jpn, rogue = make_node("JPN", "jpn-mof"), make_node("IND", "rogue")
    for a, b in ((ind, usa), (usa, ind), (ind, jpn), (rogue, usa)):
        pin(a, b)
    fill(ind)
    usa.run("db", "migrate")
    ind.run("share", "allow", "usa-c2")
    ind.run("share", "allow", "jpn-mof")
    good = _export(ind, "usa-c2", tmp_path / "a")
    other = _export(ind, "usa-c2", tmp_path / "b")  # another bundle to the same peer
    to_jpn = _export(ind, "jpn-mof", tmp_path / "c")
    original = _meaning(good)
    names = sorted(good)
    parts = [n for n in names if n != MANIFEST]
    assert len(parts) >= 2
    rng = random.Random(14)
    me = usa.node()
    seen_checks: dict[str, int] = {}
    with store_of(usa) as store:
        verify_bundle(store, me, good)  # the original verifies
        done = 0
        while done < CASES:
            kind = rng.randrange(9)
            files = dict(good)
            if kind <= 2:  # flip bits of one byte
                name = rng.choice(names)
                data = bytearray(files[name])
                data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
                files[name] = bytes(data)
            elif kind == 3:  # truncate
                name = rng.choice(names)
                files[name] = files[name][: rng.randrange(len(files[name]))]
            elif kind == 4:  # reorder: two parts swap places
                a, b = rng.sample(parts, 2)
                files[a], files[b] = files[b], files[a]
            elif kind == 5:  # drop a file, or take it from another bundle (a replayed part)
                name = rng.choice(names)
                if rng.random() < 0.5:
                    del files[name]
                else:
                    files[name] = (other if rng.random() < 0.7 else to_jpn).get(name, b"")
            elif kind == 6:  # a manifest field changed, not re-signed
                files = _unsigned_edit(files, rng)
            elif kind == 7:  # swapped keys: re-signed by a node USA does not pin, or by
                # it under IND's name, or IND's bundle for JPN; or IND signing a bad proof
                which = rng.randrange(4)
                if which == 3:  # signed by IND itself, over a proof of another entry

                    def shift(m: dict[str, Any]) -> None:
                        m["release"]["index"] = int(m["release"]["index"]) + rng.choice([-1, 1])

                    files = _resigned(files, ind, shift)
                elif which == 0:
                    files = _resigned(files, rogue, lambda m: None)
                elif which == 1:
                    resigned = _resigned(files, rogue, lambda m: None)
                    env = json.loads(resigned[MANIFEST])
                    env["signatures"][0]["keyid"] = ind.node().verifier.vkey
                    files[MANIFEST] = json.dumps(env).encode()
                else:
                    files = dict(to_jpn)
            else:  # the manifest of one bundle over the parts of another
                files = {**other, MANIFEST: good[MANIFEST]}
            if _meaning(files) == original:
                continue  # layout only (whitespace, base64 padding bits): not tampering
            with pytest.raises(BundleRejected) as info:
                verify_bundle(store, me, files)
            assert info.value.check in CHECKS, info.value
            seen_checks[info.value.check] = seen_checks.get(info.value.check, 0) + 1
            done += 1
        verify_bundle(store, me, good)  # and still does
    assert {"manifest", "originator", "signature", "audience", "proof", "digest"} <= set(
        seen_checks
    ), seen_checks
