"""The staff directory (U1): who the company's staff are, where they work, what they may do.

A JWT user seen the first time is added from the token's claims; from then on the directory is
the truth for level, branch, department and permissions. Administrators (level 1) and the
company's systems (API key) change users; an inactive user is refused on every route.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from cachetools import LRUCache, TTLCache

from chalicelib.core import clock
from chalicelib.core.domain import StaffUnit, StaffUser
from chalicelib.core.emails import checked_email
from chalicelib.core.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.core.names import fold
from chalicelib.store import staff as store
from chalicelib.tenants.auth.principal import Principal

ADMIN_LEVEL = 1
LEVELS = (1, 2, 3, 4)
PERMISSIONS = ("change_preferred_agent",)
UNIT_KINDS = {"branches": "branch", "departments": "department"}
# How long a process trusts the directory entry it read (a change made in this process clears it
# at once; another Lambda container sees it within this many seconds).
CACHE_SECONDS = 10.0
#: At most this many entries a process keeps; a new one past it drops the least recently used
#: (cachetools' ``TTLCache``), never the whole cache.
CACHE_ENTRIES = 10_000
_CODE = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")

_cache: TTLCache[tuple[str, str], StaffUser] = TTLCache(maxsize=CACHE_ENTRIES, ttl=CACHE_SECONDS)
_cache_lock = threading.Lock()


def _cached(company_id: str, user_id: str) -> StaffUser | None:
    with _cache_lock:
        return _cache.get((company_id, user_id))


def remember(user: StaffUser) -> None:
    """Keep a directory entry in this process's cache (as read or just written)."""
    with _cache_lock:
        _cache[(user.company_id, user.user_id)] = user


def forget_cached_users() -> None:
    with _cache_lock:
        _cache.clear()
        _handle_keys.clear()


def directory_entry(caller: Principal) -> StaffUser:
    """The caller's directory entry (at most one GetItem a request, cached briefly); a user seen
    the first time is added from the token's claims."""
    found = _cached(caller.company_id, caller.subject) or store.get_user(caller.company_id, caller.subject)
    if found is None:
        first = StaffUser(
            company_id=caller.company_id,
            user_id=caller.subject,
            level=caller.level,
            name=caller.name,
            email=caller.email,
            branch=caller.branch,
            department=caller.department,
            source="token",
        )
        found = store.add_user_once(first, clock.now())
    remember(found)
    return found


def in_directory(caller: Principal) -> Principal:
    """The caller as the directory has them (level, branch, department); 403 when inactive."""
    user = directory_entry(caller)
    if not user.active:
        raise Forbidden("this user is deactivated in the company's staff directory")
    return replace(caller, level=user.level, branch=user.branch, department=user.department)


def has_permission(caller: Principal, permission: str) -> bool:
    if caller.kind != "user":
        return True  # the company's systems (an API key with the route's scope)
    return permission in directory_entry(caller).permissions


# --- reading and changing users ----------------------------------------------------------------


def list_users(company_id: str) -> list[StaffUser]:
    return sorted(store.list_users(company_id), key=lambda u: (fold(u.name or u.user_id), u.user_id))


def colleagues(company_id: str) -> list[StaffUser]:
    """Whom staff can tell of a register record (H2): active users with an e-mail address."""
    return [u for u in active_users(company_id) if has_email(u)]


def active_users(company_id: str) -> list[StaffUser]:
    """The staff directory's active users, by name: whom a client's agents may be."""
    return [u for u in list_users(company_id) if u.active]


def has_email(user: StaffUser) -> bool:
    """Whether the user has one plain e-mail address (a value saved before addresses were checked
    may be a name or a list): whether they can be told of a record by e-mail."""
    from chalicelib.core.emails import is_email

    return bool(user.email and is_email(user.email))


def sees_user_ids(viewer: Principal) -> bool:
    """Whether ``viewer`` is shown colleagues' user ids (often the address they sign in with):
    levels 1-3 and the company's systems, who see every user's work under its ``created_by``
    anyway. A level-4 user sees only their own work, and is shown each colleague by name, place
    and :func:`colleague_handle` instead, as a staff directory shows no one's login."""
    return viewer.kind != "user" or viewer.level < 4


def _handle(key: str, company_id: str, user_id: str) -> str:
    import hashlib
    import hmac

    mac = hmac.new(key.encode(), f"colleague:{company_id}:{user_id}".encode(), hashlib.sha256)
    return "c-" + mac.hexdigest()[:24]


#: The companies' handle keys this process has read (a key, once made, never changes).
_handle_keys: LRUCache[tuple[str, str], str] = LRUCache(maxsize=CACHE_ENTRIES)


def _handle_key(company_id: str) -> str:
    from chalicelib.core.settings import get_settings
    from chalicelib.store.companies import colleague_handle_key

    cached = (get_settings().table_prefix, company_id)
    with _cache_lock:
        key = _handle_keys.get(cached)
    if key is None:
        key = colleague_handle_key(company_id)
        if key is None:
            raise NotFound("there is no such company")
        with _cache_lock:
            _handle_keys[cached] = key
    return key


def colleague_handle(company_id: str, user_id: str) -> str:
    """An opaque, stable name for a colleague that the notify route accepts in place of the user
    id: an HMAC of the company and the id under the company's own random handle key (made once,
    kept with the company), so it tells nothing of the id and cannot be made from a guessed one.
    Not under the link signing key: an operator who rotates that key must not change the handles
    colleagues know each other by (docs/decisions/0022-link-key-rotation.md)."""
    return _handle(_handle_key(company_id), company_id, user_id)


def _link_key_handles(company_id: str, user_id: str) -> set[str]:
    """The handles a colleague had before handles got their own key: the HMAC under the link
    signing key, current or previous. Still accepted, never shown, so a page or a program that
    kept one keeps working while that key is listed."""
    from chalicelib.core.links import link_verifying_keys

    return {_handle(key, company_id, user_id) for key in link_verifying_keys()}


def shown_user(viewer: Principal, user_id: str) -> str:
    """A user id as ``viewer`` is shown it: itself to levels 1-3 (and to its own user), a
    :func:`colleague_handle` to a level-4 user."""
    if sees_user_ids(viewer) or user_id == viewer.subject:
        return user_id
    return colleague_handle(viewer.company_id, user_id)


def users_by_id_or_handle(company_id: str, names: list[str]) -> dict[str, StaffUser]:
    """The company's users that ``names`` name, each by its user id or by its
    :func:`colleague_handle` (the directory is read whole only when some name is no user id)."""
    found = users_by_id(company_id, names)
    rest = [n for n in names if n not in found]
    if rest:
        users = store.list_users(company_id)
        handles = {colleague_handle(company_id, u.user_id): u for u in users}
        if any(n not in handles for n in rest):
            for u in users:
                handles.update(dict.fromkeys(_link_key_handles(company_id, u.user_id), u))
        found.update({n: handles[n] for n in rest if n in handles})
    return found


def users_as_shown(viewer: Principal, names: list[str]) -> dict[str, StaffUser]:
    """The company's users that ``names`` name as ``viewer`` may know them (:func:`shown_user`):
    by :func:`colleague_handle` for everyone; by user id for levels 1-3 and the company's systems,
    but a level-4 user by their own only, never a colleague's, which they were never shown (a
    guessed id names no one, so it tells nothing)."""
    found = users_by_id_or_handle(viewer.company_id, names)
    if sees_user_ids(viewer):
        return found
    return {n: u for n, u in found.items() if n != u.user_id or n == viewer.subject}


def get_user(company_id: str, user_id: str) -> StaffUser:
    user = store.get_user(company_id, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id!r} in the staff directory")
    return user


@dataclass(frozen=True)
class UserFields:
    """What an administrator may set; None leaves a field as it is (on a new user: empty)."""

    name: str | None = None
    email: str | None = None
    level: int | None = None
    branch: str | None = None
    department: str | None = None
    permissions: tuple[str, ...] | None = None
    active: bool | None = None
    # Fields given explicitly as null (to clear a branch or a department).
    cleared: frozenset[str] = frozenset()


def checked_user_id(user_id: str) -> str:
    """``user_id`` when the staff directory could hold it (1-64 letters, digits, '_', '.', '@' or
    '-'), else a ``ValidationFailed`` naming ``user_id``: the one check of a user id a route is
    given in its path, so no route keeps something under an id the directory refuses."""
    if not _CODE.fullmatch(user_id):
        raise ValidationFailed(
            [{"field": "user_id", "message": "use 1-64 letters, digits, '_', '.', '@' or '-'"}]
        )
    return user_id


def save_user(company_id: str, user_id: str, fields: UserFields) -> tuple[StaffUser, bool]:
    """Create a user or change the fields given; returns the user and whether it is new."""
    checked_user_id(user_id)
    fields = _check(company_id, fields)
    stored = store.get_user(company_id, user_id)
    if stored is None and fields.level is None:
        raise ValidationFailed([{"field": "level", "message": "is required for a new user"}])
    changes: dict[str, Any] = {
        name: getattr(fields, name) for name in store.USER_FIELDS if getattr(fields, name) is not None
    }
    changes.update(
        {name: None for name in fields.cleared if name in ("name", "email", "branch", "department")}
    )
    # Only the fields given are written, each request's over the user as stored when it writes:
    # two changes at once (an administrator deactivating a user while the HR system moves them)
    # both hold, and two requests adding the same user add them once (the second changes them).
    user = None
    if stored is None:
        new = StaffUser(company_id=company_id, user_id=user_id, level=fields.level or 4)
        user = store.create_user(replace(new, **changes, source="directory"), clock.now())
    created = user is not None
    if user is None:
        user = store.change_user(company_id, user_id, changes, clock.now())
    if user is None:  # pragma: no cover - users are never deleted
        raise NotFound(f"there is no user {user_id!r} in the staff directory")
    remember(user)
    return user, created


def _check(company_id: str, fields: UserFields) -> UserFields:
    """The fields as saved (the e-mail address in its normalized form), or a ``ValidationFailed``
    naming every bad one. The address is where Pregón writes to the user (a domain's notices to
    administrators, the From a personal account speaks as): one plain address, never a list, a
    name or a line break."""
    # Fields every user has: null cannot clear them (it was ignored, answering 200 for nothing done)
    errors: list[dict[str, str]] = []
    if "level" in fields.cleared:
        errors.append({"field": "level", "message": "cannot be null: give 1, 2, 3 or 4"})
    if "active" in fields.cleared:
        errors.append({"field": "active", "message": "cannot be null: give true or false"})
    if "permissions" in fields.cleared:
        errors.append({"field": "permissions", "message": "cannot be null: give [] for none"})
    if fields.email is not None:
        try:
            fields = replace(fields, email=checked_email(fields.email, field="email"))
        except ValidationFailed as exc:
            errors += exc.errors
    if fields.level is not None and fields.level not in LEVELS:
        errors.append({"field": "level", "message": "must be 1, 2, 3 or 4"})
    for name, kind in (("branch", "branch"), ("department", "department")):
        code = getattr(fields, name)
        if code is not None and not store.unit_exists(company_id, kind, code):
            errors.append({"field": name, "message": f"is not one of the company's {kind} codes"})
    for n, permission in enumerate(fields.permissions or ()):
        if permission not in PERMISSIONS:
            errors.append(
                {"field": f"permissions[{n}]", "message": f"must be one of {', '.join(PERMISSIONS)}"}
            )
    if errors:
        raise ValidationFailed(errors)
    return fields


# --- branches and departments ------------------------------------------------------------------


def unit_kind(table: str) -> str:
    if table not in UNIT_KINDS:
        raise NotFound(f"there is no staff table {table!r}: use branches or departments")
    return UNIT_KINDS[table]


def list_units(company_id: str, table: str) -> list[StaffUnit]:
    return store.list_units(company_id, unit_kind(table))


def save_unit(company_id: str, table: str, code: str, name: str) -> StaffUnit:
    kind = unit_kind(table)
    if not _CODE.fullmatch(code):
        raise ValidationFailed(
            [{"field": "code", "message": "use 1-64 letters, digits, '_', '.', '@' or '-'"}]
        )
    return store.save_unit(StaffUnit(company_id, kind, code, name.strip(), clock.now()))


# --- whose work a user sees (N2) -----------------------------------------------------------------


def visible_authors(viewer: Principal) -> list[StaffUser]:
    """The users whose notes ``viewer`` sees: level 1 the whole company, 2 its branch, 3 its
    department, 4 itself (and an API key the whole company). One Query of the directory. A user
    always sees their own notes: a level-2 user with no branch yet (a department is all a note
    needs) sees only theirs."""
    company_id = viewer.company_id
    if viewer.kind != "user" or viewer.level == ADMIN_LEVEL:
        return store.list_users(company_id)
    if viewer.level == 2 and viewer.branch:
        return store.users_in_branch(company_id, viewer.branch)
    if viewer.level == 3 and viewer.department:
        return store.users_in_department(company_id, viewer.department)
    own = store.get_user(company_id, viewer.subject)
    return [own] if own else []


def sees_author(viewer: Principal, author: StaffUser | None) -> bool:
    """Whether ``viewer`` sees the work of ``author`` (by the author's current place)."""
    if viewer.kind != "user" or viewer.level == ADMIN_LEVEL:
        return True
    if author is None:
        return False
    if author.user_id == viewer.subject:
        return True
    if viewer.level == 2:
        return viewer.branch is not None and author.branch == viewer.branch
    if viewer.level == 3:
        return viewer.department is not None and author.department == viewer.department
    return author.user_id == viewer.subject


def users_by_id(company_id: str, user_ids: list[str]) -> dict[str, StaffUser]:
    """The users ``user_ids`` name (in their order, an id naming no one left out): those read in
    the last seconds from this process's cache, the others in one ``BatchGetItem`` (a page names
    its people in one request, not one each: ``GET /preferred-agents``' agents)."""
    ids = list(dict.fromkeys(user_ids))
    found = {user_id: user for user_id in ids if (user := _cached(company_id, user_id)) is not None}
    found |= store.get_users(company_id, [user_id for user_id in ids if user_id not in found])
    return {user_id: found[user_id] for user_id in ids if user_id in found}


def staff_names(company_id: str, user_ids: Iterable[str | None]) -> dict[str, str]:
    """``user id -> name`` for the ids that name a user of the directory with a name (one
    BatchGetItem for the ids not read in the last seconds)."""
    ids = [i for i in dict.fromkeys(user_ids) if i]
    return {u.user_id: u.name for u in users_by_id(company_id, ids).values() if u.name}


def name_or_shown(viewer: Principal, names: dict[str, str], user_id: str | None) -> str | None:
    """A person in a file for people (an export's "Created by"): their name (``names``, from
    :func:`staff_names`), else their user id as ``viewer`` is shown it."""
    if not user_id:
        return user_id
    return names.get(user_id) or shown_user(viewer, user_id)
