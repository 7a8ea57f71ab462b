"""The KDF threads of ``/live`` run behind the event loop for a core (``KDF_NICE``), so a
storm of new tokens delays its own handshakes, not the acknowledgement of the clients
already connected. Real WebSocket clients of a real uvicorn server on loopback; the
threads' nice values read from ``/proc``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from apiclient import Served
from websockets.sync.client import connect

from seawatch.serve import live_auth
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import open_store


def _nice(tid: int) -> int:
    """The nice value of thread ``tid`` of this process (``/proc``, field 19)."""
    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def test_new_tokens_are_checked_on_threads_behind_the_event_loop(tmp_path: Path) -> None:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with open_store(tmp_path / "node.duckdb", settings) as store:
        tokens = [create_user(store, f"u{i}", "IND:SECRET")[1] for i in range(4)]
        with Served(create_app(store, settings)) as url:
            acks: list[str] = []

            def subscribe(token: str) -> None:
                headers = {"Authorization": f"Bearer {token}"}
                with connect(f"{url.replace('http', 'ws')}/live", additional_headers=headers,
                             open_timeout=30) as ws:  # fmt: skip
                    ws.send(json.dumps({"types": ["positions"]}))
                    acks.append(json.loads(ws.recv(timeout=30))["type"])

            threads = [threading.Thread(target=subscribe, args=(t,)) for t in tokens]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            kdf = [t for t in threading.enumerate() if t.name.startswith("live-kdf")]
            loop = [t for t in threading.enumerate() if t.native_id and "kdf" not in t.name]
            assert acks == ["subscribed"] * len(tokens)
            assert kdf  # the tokens were checked on the KDF threads
            assert all(
                _nice(t.native_id) == max(own, live_auth.KDF_NICE) for t in kdf if t.native_id
            )
            assert all(_nice(t.native_id) == own for t in loop if t.native_id)
