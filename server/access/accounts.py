"""Users and device tokens, kept server-side and never synced.

They live in the store's system database ``_accounts`` (the sync endpoint
cannot name it), so both stores hold them and several server processes
share them.  Documents:

* ``user:<name>``: ``{name, admin, roles, password}``: ``admin`` (true or
  false) is the one server-wide role; ``roles`` maps each campaign (its
  database name) to the user's role there (organizer, coordinator or
  volunteer), and a campaign it does not name is one where the user has no
  role.  The password as ``scrypt$N$r$p$salt$hash`` (a slow, memory-hard KDF
  from the standard library; N=2**15 takes about 70 ms here);
* ``token:<sha256 of the token>``: ``{user, label, created_at, expires_at,
  revoked, last_used_at}``; the token itself is shown once and never stored.
  The hex digest is the token's public id (listing, revoking);
* ``signin:<sha256 of the code>``: a one-time sign-in code for a phone,
  ``{user, label, created_by, created_at, expires_at, used_at}``; the code
  (12 characters of Crockford's base32: 60 bits) is shown once.

A checked HTTP Basic password is remembered in memory for five minutes (by
a hash of name and password), so a replication of many requests pays the KDF
once, as CouchDB's session cookie does; a checked token for 30 seconds (at
most until it expires), so a request costs no store reads for it.  A revoked
token or a changed password therefore stops working on every process within
those times; ``revoke_token`` forgets the token in this process at once.
Those caches remember who signed in, not what they may do: a user's roles
are read again after ``ROLE_CACHE_SECONDS`` (30), so a role given or taken
away (``set_role``) holds at once on the process that made the change and
within 30 seconds on every other one; a deleted user stops at the same time.

Failed sign-ins (a password, or a sign-in code) are counted in memory, per
process: 5 per account and 20 per client address in a sliding 15 minutes;
past either limit every sign-in is refused with the seconds to wait, even a
correct one, so guessing gets nowhere.  An attempt is counted before it is
checked, so parallel guesses cannot slip past the count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Mapping

from sync.errors import Conflict, InsufficientStorage, NotFound, StoreUnavailable
from sync.names import is_db_name
from sync.store import StoreServer

ROLES = ("admin", "organizer", "coordinator", "volunteer")
CAMPAIGN_ROLES = ROLES[1:]  # held in a campaign; admin is server-wide
NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
TOKEN_PREFIX = "bw_"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
BASIC_CACHE_SECONDS = 300
TOKEN_CACHE_SECONDS = 30
ROLE_CACHE_SECONDS = 30
CACHE_SIZE = 10_000
LAST_USED_EVERY = timedelta(minutes=10)
SIGN_IN_TOKEN_DAYS = 30
FAILURE_WINDOW_SECONDS = 15 * 60
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20
# Crockford's base32: no I, L, O, U; a typed code is read with O as 0 and I, L as 1.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
TOKEN_HEX = re.compile(r"[0-9a-f]{64}")


class AccountError(ValueError):
    """A user name, role or password that cannot be accepted."""


class UserExists(AccountError):
    """A user of that name exists already."""


class SignInRefused(Exception):
    """A wrong name or password, or an unknown, expired or used sign-in code."""


class TooManyFailures(Exception):
    """Too many failed sign-ins for the account or the address: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    """Who signed in, and what they are: a server-wide admin, and a role in each of some campaigns."""

    name: str
    admin: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)  # campaign -> organizer | coordinator | volunteer
    full_name: str = ""  # the person's name as people know it (lists, printed sign-in cards)


def _user(doc: dict) -> User:
    roles = doc.get("roles")
    roles = {c: r for c, r in roles.items() if r in CAMPAIGN_ROLES} if isinstance(roles, dict) else {}
    # A user stored before roles were per campaign has one global ``role``: only admin survives.
    admin = doc.get("admin") is True or doc.get("role") == "admin"
    full_name = doc.get("full_name") if isinstance(doc.get("full_name"), str) else ""
    return User(doc["name"], admin, MappingProxyType(roles), full_name)


def check_campaign_role(campaign: str, role: str) -> None:
    if not is_db_name(campaign):
        raise AccountError(f"{campaign!r} cannot be a campaign: lowercase letters, digits and _ $ ( ) + -, a letter first")
    if role not in CAMPAIGN_ROLES:
        raise AccountError(f"Unknown campaign role {role!r}; roles in a campaign: {', '.join(CAMPAIGN_ROLES)} "
                           "(admin is server-wide)")


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


def normalize_code(code: str) -> str:
    """A sign-in code as typed (any case, dashes, spaces, O for 0, I or L for 1) in its stored form."""
    code = code.upper().translate(str.maketrans("OIL", "011", "- \t"))
    return code if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code) else ""


def _public_token(doc: dict) -> dict:
    return {"id": doc["_id"].removeprefix("token:"), **{k: doc.get(k) for k in (
        "user", "label", "created_at", "expires_at", "last_used_at", "revoked")}}


class FailureLimit:
    """At most ``limit`` failures per key in a sliding window of ``window`` seconds, in memory.

    Not locked itself: ``Accounts`` calls it under its lock.  At most
    ``max_keys`` keys are kept; past that the longest quiet ones are dropped.
    """

    def __init__(self, limit: int, window: float, max_keys: int = 100_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures: dict[str, list[float]] = {}

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        recent = [t for t in self._failures.get(key, ()) if t > now - self.window]
        return 0 if len(recent) < self.limit else recent[-self.limit] + self.window - now

    def add(self, key: str, now: float) -> None:
        recent = [t for t in self._failures.pop(key, ()) if t > now - self.window]
        if len(self._failures) >= self.max_keys:
            for old in [k for k, times in self._failures.items() if times[-1] <= now - self.window]:
                del self._failures[old]
            while len(self._failures) >= self.max_keys:
                del self._failures[next(iter(self._failures))]
        self._failures[key] = (recent + [now])[-self.limit:]

    def remove(self, key: str, stamp: float) -> None:
        """Take back one failure counted in advance (the attempt succeeded)."""
        times = self._failures.get(key)
        if times and stamp in times:
            times.remove(stamp)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class Accounts:
    def __init__(self, server: StoreServer):
        self.db = server.system_db("accounts")
        self._basic_cache: dict[bytes, tuple[str, float]] = {}  # who signed in, not what they may do
        self._token_cache: dict[str, tuple[str, float]] = {}
        self._user_cache: dict[str, tuple[User, float]] = {}  # the roles, for ROLE_CACHE_SECONDS
        self._lock = threading.Lock()
        self.clock = time.monotonic  # of the failure limits; tests set their own
        self._failures_by_account = FailureLimit(FAILURES_PER_ACCOUNT, FAILURE_WINDOW_SECONDS)
        self._failures_by_address = FailureLimit(FAILURES_PER_ADDRESS, FAILURE_WINDOW_SECONDS)

    # -- users -------------------------------------------------------------------

    def add_user(self, name: str, role: str | None, password: str, campaign: str | None = None,
                 full_name: str = "") -> User:
        """Add a user: ``role`` admin (server-wide), or a campaign role in ``campaign``, or None (no role yet)."""
        if not isinstance(name, str) or NAME.fullmatch(name) is None:
            raise AccountError(
                "A user name is 1-64 characters: lowercase letters, digits, and . _ @ - (not first)"
            )
        if role not in ROLES and role is not None:
            raise AccountError(f"Unknown role {role!r}; roles: {', '.join(ROLES)}")
        roles: dict[str, str] = {}
        if role == "admin" and campaign is not None:
            raise AccountError("admin is a server-wide role: give no campaign")
        if role in CAMPAIGN_ROLES:
            if campaign is None:
                raise AccountError(f"{role} is a role in a campaign: name the campaign")
            check_campaign_role(campaign, role)
            roles[campaign] = role
        if len(password) < 8:
            raise AccountError("A password needs at least 8 characters")
        doc = {"_id": f"user:{name}", "name": name, "admin": role == "admin", "roles": roles,
               "password": hash_password(password)}
        if full_name:
            doc["full_name"] = full_name
        try:
            self.db.put(doc)
        except Conflict:
            raise UserExists(f"User {name!r} exists already") from None
        return _user(doc)

    def set_role(self, name: str, campaign: str, role: str | None) -> User:
        """Give ``name`` ``role`` in ``campaign`` (None: take their role there away).

        Holds at once in this process, within ROLE_CACHE_SECONDS in the others.
        """
        if role is not None:
            check_campaign_role(campaign, role)
        for _ in range(5):
            try:
                doc = self.db.get(f"user:{name}")
            except NotFound:
                raise AccountError(f"No user {name!r}") from None
            roles = {c: r for c, r in (doc.get("roles") or {}).items() if c != campaign}
            if role is not None:
                roles[campaign] = role
            try:
                self.db.put({**doc, "roles": roles})
                break
            except Conflict:
                continue  # changed at the same moment: read again
        else:
            raise AccountError(f"User {name!r} is being changed by someone else; try again")
        with self._lock:
            self._user_cache.pop(name, None)
        return self.get_user(name)

    def members(self, campaign: str) -> list[tuple[str, str]]:
        """(name, role) of everyone with a role in ``campaign``, by name (admins hold theirs everywhere: not listed)."""
        return [(user.name, user.roles[campaign]) for user in self.member_users(campaign)]

    def member_users(self, campaign: str) -> list[User]:
        """Everyone with a role in ``campaign``, by name (admins are not listed)."""
        rows = self.db.all_docs(startkey="user:", endkey="user:\uffff", include_docs=True)["rows"]
        users = [_user(row["doc"]) for row in rows if row.get("doc")]
        return [user for user in users if campaign in user.roles]

    def list_users(self, skip: int = 0, limit: int | None = None) -> tuple[int, list[User]]:
        """How many users there are, and ``limit`` of them from ``skip``, by name."""
        span = {"startkey": "user:", "endkey": "user:\uffff"}
        total = len(self.db.all_docs(**span)["rows"])
        if skip >= total:
            return total, []  # and no huge skip reaches the store
        rows = self.db.all_docs(**span, skip=skip, limit=limit, include_docs=True)["rows"]
        return total, [_user(row["doc"]) for row in rows if row.get("doc")]

    def get_user(self, name: str) -> User | None:
        try:
            doc = self.db.get(f"user:{name}")
        except NotFound:
            return None
        return _user(doc)

    def current_user(self, name: str) -> User | None:
        """The user with their roles as read at most ROLE_CACHE_SECONDS ago (None: no such user)."""
        now = time.monotonic()
        cached = self._user_cache.get(name)
        if cached is not None and cached[1] > now:
            return cached[0]
        user = self.get_user(name)
        if user is not None:
            with self._lock:
                if len(self._user_cache) >= CACHE_SIZE:
                    self._user_cache.clear()
                self._user_cache[name] = (user, now + ROLE_CACHE_SECONDS)
        return user

    def check_password(self, name: str, password: str) -> User | None:
        key = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        now = time.monotonic()
        with self._lock:
            cached = self._basic_cache.get(key)
        if cached is not None and cached[1] > now:
            return self.current_user(cached[0])
        try:
            doc = self.db.get(f"user:{name}")
        except NotFound:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, doc["password"]):
            return None
        user = _user(doc)
        with self._lock:
            if len(self._basic_cache) >= CACHE_SIZE:
                self._basic_cache.clear()
            self._basic_cache[key] = (user.name, now + BASIC_CACHE_SECONDS)
            self._user_cache[user.name] = (user, now + ROLE_CACHE_SECONDS)
        return user

    # -- device tokens ---------------------------------------------------------------

    def create_token(self, name: str, *, label: str = "", expires_in: timedelta | None = timedelta(days=30)) -> str:
        """A new token for ``name``; the only time the token itself exists."""
        return self._new_token(name, label, expires_in)[0]

    def _new_token(self, name: str, label: str, expires_in: timedelta | None) -> tuple[str, dict]:
        if self.get_user(name) is None:
            raise AccountError(f"No user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = _now()
        doc = {
            "_id": token_id(token),
            "user": name,
            "label": label,
            "created_at": now.isoformat(),
            "expires_at": None if expires_in is None else (now + expires_in).isoformat(),
            "revoked": False,
            "last_used_at": None,
        }
        self.db.put(doc)
        return token, doc

    def tokens_of(self, name: str) -> list[dict]:
        """``name``'s tokens (revoked and expired ones too), oldest first, by id: never the token."""
        rows = self.db.all_docs(startkey="token:", endkey="token:\uffff", include_docs=True)["rows"]
        docs = [row["doc"] for row in rows if row.get("doc") and row["doc"].get("user") == name]
        return [_public_token(doc) for doc in sorted(docs, key=lambda doc: doc["created_at"])]

    def tokens_by_user(self, names: set[str]) -> dict[str, list[dict]]:
        """The tokens of each of ``names`` (revoked and expired ones too), oldest first: one read of every token."""
        rows = self.db.all_docs(startkey="token:", endkey="token:\uffff", include_docs=True)["rows"]
        docs = sorted((row["doc"] for row in rows if row.get("doc") and row["doc"].get("user") in names),
                      key=lambda doc: doc["created_at"])
        out: dict[str, list[dict]] = {name: [] for name in names}
        for doc in docs:
            out[doc["user"]].append(_public_token(doc))
        return out

    def token_info(self, public_id: str) -> dict | None:
        """The token of this id (the hex SHA-256 of the token), without the token."""
        if TOKEN_HEX.fullmatch(public_id) is None:
            return None
        try:
            return _public_token(self.db.get("token:" + public_id))
        except NotFound:
            return None

    def revoke_token(self, public_id: str) -> None:
        """Revoke at once in this process; other processes stop accepting it within TOKEN_CACHE_SECONDS."""
        key = "token:" + public_id
        for _ in range(5):
            doc = self.db.get(key)
            try:
                self.db.put({**doc, "revoked": True})
                break
            except Conflict:
                continue  # a check recorded last_used_at at the same moment: read again
        with self._lock:
            self._token_cache.pop(key, None)

    def check_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        key = token_id(token)
        cached = self._token_cache.get(key)
        if cached is not None and cached[1] > time.time():
            return self.current_user(cached[0])
        try:
            doc = self.db.get(key)
        except NotFound:
            return None
        now = _now()
        if doc["revoked"] or (doc["expires_at"] and datetime.fromisoformat(doc["expires_at"]) <= now):
            return None
        user = self.current_user(doc["user"])
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
            self._token_cache[key] = (user.name, until)
        last = doc.get("last_used_at")
        if last is None or now - datetime.fromisoformat(last) > LAST_USED_EVERY:
            try:
                self.db.put({**doc, "last_used_at": now.isoformat()})
            except Conflict:
                pass  # another request recorded the use at the same moment
            except (InsufficientStorage, StoreUnavailable):
                pass  # bookkeeping: a full or read-only disk must not stop a device from reading
        return user

    # -- signing in ----------------------------------------------------------------

    def _count_attempt(self, address: str, name: str | None, now: float) -> None:
        """Count the attempt as a failure in advance, or refuse it while a limit is reached."""
        with self._lock:
            wait = self._failures_by_address.wait(address, now)
            if name is not None:
                wait = max(wait, self._failures_by_account.wait(name, now))
            if wait:
                raise TooManyFailures(max(1, math.ceil(wait)))
            self._failures_by_address.add(address, now)
            if name is not None:
                self._failures_by_account.add(name, now)

    def check_basic(self, name: str, password: str, address: str) -> User | None:
        """HTTP Basic on every request: a remembered success is free; anything else
        counts against the same limits as a sign-in (raises TooManyFailures)."""
        key = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        with self._lock:
            cached = self._basic_cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return self.current_user(cached[0])
        now = self.clock()
        self._count_attempt(address, name, now)
        user = self.check_password(name, password)
        if user is not None:
            with self._lock:
                self._failures_by_address.remove(address, now)
                self._failures_by_account.clear(name)
        return user

    def sign_in(self, name: str, password: str, address: str, *, label: str = "") -> tuple[str, str]:
        """A new device token (and when it expires) for a correct name and password.

        Raises TooManyFailures past a limit (before checking anything) and
        SignInRefused for a wrong name or password.  A success clears the
        account's failures, not the address's.
        """
        now = self.clock()
        self._count_attempt(address, name, now)
        user = self.check_password(name, password)
        if user is None:
            raise SignInRefused("Name or password is incorrect")
        with self._lock:
            self._failures_by_address.remove(address, now)
            self._failures_by_account.clear(name)
        token, doc = self._new_token(user.name, label, timedelta(days=SIGN_IN_TOKEN_DAYS))
        return token, doc["expires_at"]

    def create_signin_code(self, name: str, *, minutes: int = 10, label: str = "", created_by: str = "") -> tuple[str, str]:
        """A one-time code (``XXXX-XXXX-XXXX``) that signs ``name`` in within ``minutes``, and when it expires."""
        if self.get_user(name) is None:
            raise AccountError(f"No user {name!r}")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = _now()
        expires_at = (now + timedelta(minutes=minutes)).isoformat()
        self.db.put({"_id": "signin:" + hashlib.sha256(code.encode()).hexdigest(), "user": name, "label": label,
                     "created_by": created_by, "created_at": now.isoformat(), "expires_at": expires_at, "used_at": None})
        return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4)), expires_at

    def redeem_signin_code(self, code: str, address: str) -> tuple[str, str]:
        """A new device token for a good code, which is then used up; raises as ``sign_in`` does."""
        now = self.clock()
        self._count_attempt(address, None, now)
        refused = SignInRefused("The code is unknown, expired or used already")
        normal = normalize_code(code)
        if not normal:
            raise refused
        try:
            doc = self.db.get("signin:" + hashlib.sha256(normal.encode()).hexdigest())
        except NotFound:
            raise refused from None
        if doc["used_at"] is not None or datetime.fromisoformat(doc["expires_at"]) <= _now():
            raise refused
        try:
            self.db.put({**doc, "used_at": _now().isoformat()})  # the store's revision rule: one use wins
        except Conflict:
            raise refused from None
        with self._lock:
            self._failures_by_address.remove(address, now)
        label = doc["label"] or f"sign-in code from {doc['created_by'] or 'an admin'}"
        try:
            token, token_doc = self._new_token(doc["user"], label, timedelta(days=SIGN_IN_TOKEN_DAYS))
        except AccountError:
            raise refused from None  # the user is gone
        return token, token_doc["expires_at"]
