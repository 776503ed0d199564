"""Live peers for protocol tests: a Blockwalk server process and a PouchDB 9 peer."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from forms.templates import DRIVES, published

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"
POUCHDB_SERVER = JS / "node_modules" / ".bin" / "pouchdb-server"


class PouchError(Exception):
    def __init__(self, error: dict):
        super().__init__(f"{error.get('name')}: {error.get('message')} (status {error.get('status')})")
        self.error = error


class PouchPeer:
    """A Node process running real PouchDB 9, answering JSON-line requests."""

    def __init__(self):
        node = shutil.which("node")
        assert node, "node is not installed: PouchDB tests need Node 20"
        assert (JS / "node_modules" / "pouchdb").exists(), "tests/js/node_modules is missing: run scripts/test"
        self.proc = subprocess.Popen(
            [node, str(JS / "peer.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=JS
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def call(self, op: str, timeout: float = 300, **args):
        with self._lock:
            request_id = next(self._ids)
            self.proc.stdin.write(json.dumps({"id": request_id, "op": op, "args": args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the PouchDB peer died")
        reply = json.loads(line)
        assert reply["id"] == request_id
        if "error" in reply:
            raise PouchError(reply["error"])
        return reply["result"]

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# What a record needs to fit the built-in asset-mapping form that new_db publishes.
RECORD = {"type": "record", "form": "form:asset_mapping", "form_version": 1}


def blockwalk(*args: str, store: str, input: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--store", store],
        input=input, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class LiveServer:
    """``blockwalk serve`` in its own process, on a free port, with an admin and a volunteer."""

    ADMIN = ("ana", "ana-password-1")
    VOLUNTEER = ("vic", "vic-password-1")

    def __init__(self, folder: Path, env: dict | None = None, store: str | None = None, like: "LiveServer | None" = None):
        """A new server; ``like``: another process on the same store, sharing its users and tokens.

        Its data folder (where a CouchDB store's server indexes are kept) is
        ``folder/data``, never the user's own.
        """
        self.store = store or f"sqlite://{folder}/blockwalk.db"
        self.data_dir = folder / "data"
        if like is None:
            self._add_accounts()
        else:
            self.token, self.volunteer_token = like.token, like.volunteer_token
        self.start(env)

    def _add_accounts(self) -> None:
        blockwalk("user", "add", self.ADMIN[0], "--role", "admin", store=self.store, input=self.ADMIN[1] + "\n")
        # The volunteer gets a role in each campaign new_db makes (per campaign, through the REST API).
        blockwalk("user", "add", self.VOLUNTEER[0], store=self.store, input=self.VOLUNTEER[1] + "\n")
        self.token = blockwalk("token", "create", self.ADMIN[0], "--label", "tests", store=self.store)
        self.volunteer_token = blockwalk("token", "create", self.VOLUNTEER[0], store=self.store)

    def start(self, env: dict | None = None, port: int = 0) -> None:
        """Start the process (``port`` 0: a free one; a port: that one, say to restart on the same origin)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
        full_env.update({"BLOCKWALK_DATA_DIR": str(self.data_dir), **(env or {})})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--store", self.store],
            stderr=subprocess.PIPE, text=True, env=full_env, cwd=ROOT,
        )
        line = self.proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, f"server did not start: {line}{self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.url = f"http://127.0.0.1:{match.group(1)}"
        threading.Thread(target=self._drain, daemon=True).start()
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.http.get("/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.05)
        self._names = itertools.count(1)

    def _drain(self):
        for _ in self.proc.stderr:
            pass

    def new_db(self, prefix: str = "campaign", forms: bool = False) -> str:
        """A new campaign database; ``forms``: with the built-in forms published (records must fit one)."""
        name = f"{prefix}-{next(self._names)}"
        response = self.http.put(f"/sync/{name}")
        assert response.status_code == 201, response.text
        response = self.http.put(f"/api/v1/campaigns/{name}/members/{self.VOLUNTEER[0]}", json={"role": "volunteer"})
        assert response.status_code == 200, response.text
        if forms:
            templates = [published(drive) for drive in DRIVES]
            response = self.http.post(f"/sync/{name}/_bulk_docs", json={"docs": templates})
            assert all(r.get("ok") for r in response.json()), response.text
        return name

    def remote(self, db: str, **extra) -> dict:
        return {"url": f"{self.url}/sync/{db}", "token": self.token, **extra}

    def close(self):
        self.http.close()
        stop(self.proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PouchDBServer:
    """pouchdb-server on a free loopback port, storing in ``folder``."""

    def __init__(self, folder: Path, in_memory: bool = False, timeout: float = 30, port: int | None = None):
        assert POUCHDB_SERVER.exists(), "pouchdb-server is not installed: run scripts/test (npm ci in tests/js)"
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.in_memory = in_memory
        # Requests are logged at level info: keep warnings and errors only, and
        # never echo the log to stdout (--no-stdout-logs).
        config = folder / "config.json"
        config.write_text(json.dumps({"log": {"file": str(folder / "log.txt"), "level": "warning"}}))
        args = [str(POUCHDB_SERVER), "--host", "127.0.0.1", "--port", str(self.port),
                "--config", str(config), "--no-stdout-logs", "--no-color"]
        args += ["--in-memory"] if in_memory else ["--dir", str(folder / "data")]
        self.output = open(folder / "output.txt", "wb")  # noqa: SIM115 (open while the server runs)
        self.proc = subprocess.Popen(args, cwd=folder, stdin=subprocess.DEVNULL, stdout=self.output,
                                     stderr=subprocess.STDOUT)
        self.folder = folder
        try:
            self._wait(timeout)
        except BaseException:
            self.close()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pouchdb-server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"pouchdb-server did not answer within {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.1)

    def probe(self) -> str:
        """Create a database, write and read a document; return the adapter that stored it."""
        with httpx.Client(base_url=self.url, timeout=10) as http:
            assert http.put("/probe").status_code == 201
            assert http.post("/probe", json={"_id": "probe", "ok": True}).status_code == 201
            assert http.get("/probe/probe").json()["ok"] is True
            info = http.get("/probe").json()
            assert http.delete("/probe").status_code == 200
        return f"{info.get('adapter')}/{info.get('backend_adapter')}"

    def log_tail(self) -> str:
        text = ""
        for name in ("output.txt", "log.txt"):
            path = self.folder / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text.strip()

    def close(self) -> None:
        stop(self.proc)
        self.output.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
