"""Live peers for protocol tests: a Blockwalk server process and a PouchDB 9 peer."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"


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

    def __init__(self, folder: Path, env: dict | None = None):
        self.store = f"sqlite://{folder}/blockwalk.db"
        blockwalk("user", "add", self.ADMIN[0], "--role", "admin", store=self.store, input=self.ADMIN[1] + "\n")
        blockwalk("user", "add", self.VOLUNTEER[0], "--role", "volunteer", store=self.store, input=self.VOLUNTEER[1] + "\n")
        self.token = blockwalk("token", "create", self.ADMIN[0], "--label", "tests", store=self.store)
        self.volunteer_token = blockwalk("token", "create", self.VOLUNTEER[0], store=self.store)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", "0", "--store", self.store],
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

    def new_db(self, prefix: str = "campaign") -> str:
        name = f"{prefix}-{next(self._names)}"
        response = self.http.put(f"/sync/{name}")
        assert response.status_code == 201, response.text
        return name

    def remote(self, db: str, **extra) -> dict:
        return {"url": f"{self.url}/sync/{db}", "token": self.token, **extra}

    def close(self):
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
