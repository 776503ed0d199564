"""Users and device tokens, kept server-side and never synced.

They live in the store's system database ``_accounts`` (the sync endpoint
cannot name it), so both stores hold them and several server processes
share them.  Documents:

* ``user:<name>``: ``{name, role, password}``; the password as
  ``scrypt$N$r$p$salt$hash`` (a slow, memory-hard KDF from the standard
  library; N=2**15 takes about 70 ms here);
* ``token:<sha256 of the token>``: ``{user, label, created_at, expires_at,
  revoked, last_used_at}``; the token itself is shown once and never stored.

A checked HTTP Basic password is remembered in memory for five minutes (by
a hash of name and password), so a replication of many requests pays the KDF
once, as CouchDB's session cookie does; a checked token for 30 seconds (at
most until it expires), so a request costs no store reads for it.  A revoked
token or a changed password therefore stops working on every process within
those times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sync.errors import Conflict, NotFound
from sync.store import StoreServer

ROLES = ("admin", "organizer", "coordinator", "volunteer")
NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
TOKEN_PREFIX = "bw_"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
BASIC_CACHE_SECONDS = 300
TOKEN_CACHE_SECONDS = 30
CACHE_SIZE = 10_000
LAST_USED_EVERY = timedelta(minutes=10)


class AccountError(ValueError):
    """A user name, role or password that cannot be accepted."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, maxmem=2**26, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=2**26
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# Checked against when the user does not exist, so that a wrong name takes as
# long as a wrong password and names cannot be discovered by timing.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


def token_id(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, server: StoreServer):
        self.db = server.system_db("accounts")
        self._basic_cache: dict[bytes, tuple[User, float]] = {}
        self._token_cache: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    # -- users -------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str) -> User:
        if not isinstance(name, str) or NAME.fullmatch(name) is None:
            raise AccountError(
                "A user name is 1-64 characters: lowercase letters, digits, and . _ @ - (not first)"
            )
        if role not in ROLES:
            raise AccountError(f"Unknown role {role!r}; roles: {', '.join(ROLES)}")
        if len(password) < 8:
            raise AccountError("A password needs at least 8 characters")
        try:
            self.db.put({"_id": f"user:{name}", "name": name, "role": role, "password": hash_password(password)})
        except Conflict:
            raise AccountError(f"User {name!r} exists already") from None
        return User(name, role)

    def get_user(self, name: str) -> User | None:
        try:
            doc = self.db.get(f"user:{name}")
        except NotFound:
            return None
        return User(doc["name"], doc["role"])

    def check_password(self, name: str, password: str) -> User | None:
        key = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        now = time.monotonic()
        with self._lock:
            cached = self._basic_cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            doc = self.db.get(f"user:{name}")
        except NotFound:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, doc["password"]):
            return None
        user = User(doc["name"], doc["role"])
        with self._lock:
            if len(self._basic_cache) >= CACHE_SIZE:
                self._basic_cache.clear()
            self._basic_cache[key] = (user, now + BASIC_CACHE_SECONDS)
        return user

    # -- device tokens ---------------------------------------------------------------

    def create_token(self, name: str, *, label: str = "", expires_in: timedelta | None = timedelta(days=30)) -> str:
        """A new token for ``name``; the only time the token itself exists."""
        if self.get_user(name) is None:
            raise AccountError(f"No user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = _now()
        self.db.put(
            {
                "_id": token_id(token),
                "user": name,
                "label": label,
                "created_at": now.isoformat(),
                "expires_at": None if expires_in is None else (now + expires_in).isoformat(),
                "revoked": False,
                "last_used_at": None,
            }
        )
        return token

    def check_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        key = token_id(token)
        cached = self._token_cache.get(key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        try:
            doc = self.db.get(key)
        except NotFound:
            return None
        now = _now()
        if doc["revoked"] or (doc["expires_at"] and datetime.fromisoformat(doc["expires_at"]) <= now):
            return None
        user = self.get_user(doc["user"])
        if user is None:
            return None
        # Remember a good token briefly: on the CouchDB store every check costs two
        # requests to CouchDB.  A revocation reaches every process within this time.
        until = time.time() + TOKEN_CACHE_SECONDS
        if doc["expires_at"]:
            until = min(until, datetime.fromisoformat(doc["expires_at"]).timestamp())
        with self._lock:
            if len(self._token_cache) >= CACHE_SIZE:
                self._token_cache.clear()
            self._token_cache[key] = (user, until)
        last = doc.get("last_used_at")
        if last is None or now - datetime.fromisoformat(last) > LAST_USED_EVERY:
            try:
                self.db.put({**doc, "last_used_at": now.isoformat()})
            except Conflict:
                pass  # another request recorded the use at the same moment
        return user
