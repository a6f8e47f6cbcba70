"""Who a calendar address is: the one place that turns an ORGANIZER/ATTENDEE value into a person.

A calendar user address (CAL-ADDRESS, RFC 5545 §3.3.3) is a URI. For mail it is a ``mailto:``
URI (RFC 6068: the scheme is case-insensitive, the address may be percent-encoded, e.g.
``mailto:robert%2Ehale@example.org``), but servers also write principal paths and URLs
(``/1234567/principal/``), ``urn:uuid:`` values, ``tel:`` numbers and Exchange's
``invalid:nomail``, and then put the real address in the RFC 7986 §6.3 ``EMAIL`` parameter.

Readings this module chose where the RFCs leave room (each tested):

- **EMAIL wins over a mailto: value that disagrees.** RFC 7986 §6.3: a client matching the
  calendar user with an address book entry "SHOULD use any EMAIL property parameter value ...
  over any mailto: calendar user address". The disagreeing case in practice is a relay
  address in the value (``mailto:relay-7f3a@calendar.example``) and the person in ``EMAIL``.
- **Recognising the user** accepts either one: the value is the calendar user's scheduling
  identity (RFC 6638 compares it with the principal's calendar-user-address-set) and EMAIL is
  their mail address, so the entry is the user's if any of the two is theirs.
- **Case**: the whole address is compared in lower case. Domains are case-insensitive
  (RFC 5321 §2.4); the local part may formally be case-sensitive, but no common provider
  treats it so, and a missed encounter costs more than merging two mailboxes differing only
  in case.
- **Non-mail values** (http(s) URLs and paths, ``urn:``, ``tel:``, ``invalid:``) stand for no
  mail address; they keep an identity of their own (:func:`address_key`) so the user's own
  principal path from calendar-user-address-set still recognises the user's entry. URLs and
  paths are keyed by their path alone, as servers write the same principal both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_DOMAIN = re.compile(r"^(\[[^\[\]\s]+\]|[^\s@\[\]()<>,;:\\\"/]+)$")
_LOCAL_BAD = re.compile(r"[\s<>,;\\]")
# A lower-case addr-spec with no quotes, brackets, spaces or escapes, bare or after "mailto:"
# in any case: most values and every stored identity. It is its own mail address (the general
# reading below returns it unchanged), so it skips that reading.
_PLAIN = re.compile(r"(?:[Mm][Aa][Ii][Ll][Tt][Oo]:)?([a-z0-9._+\-]+@[a-z0-9.\-]+)")
PLAIN_ADDRESS = _PLAIN
"""A value this matches in full (``PLAIN_ADDRESS.fullmatch(value)``) is a plain address, and
its group 1 is what :func:`mail_address` and :func:`address_key` return for it without
parameters: for callers that read tens of thousands of addresses and skip the calls."""
_UNREADABLE = re.compile("[\x00-\x1f\ufffd]")  # control characters, or a broken %-escape


def mail_address(value: str, params: Mapping[str, Any] | None = None) -> str | None:
    """Given a calendar-user address value (ORGANIZER/ATTENDEE, RFC 5545 §3.3.3) and its
    parameters, return the mail address it stands for, lower case, or None if it stands for none.

    The RFC 7986 §6.3 ``EMAIL`` parameter comes first when it holds a mail address; else a
    ``mailto:`` value (any case, percent-encoded per RFC 6068, ``?hfields`` dropped) or a bare
    addr-spec. Never raises: anything unreadable is None.
    """
    plain = _PLAIN.fullmatch(value) if not params else None
    if plain:
        return plain.group(1)
    email = _param(params, "EMAIL")
    if email:
        found = _mail_of(email)
        if found:
            return found
    return _mail_of(value)


def address_key(value: str, params: Mapping[str, Any] | None = None) -> str:
    """Given a calendar-user address value and its parameters, return the identity to compare
    and store: its mail address (:func:`mail_address`) if it has one, else the value itself
    normalised (``urn:``/``tel:``/other schemes lower case, http(s) URLs and paths reduced to
    the path without a trailing slash); "" for an empty value."""
    found = mail_address(value, params)
    if found:
        return found
    return _uri_key(value)


def identities(value: str, params: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Given a calendar-user address value and its parameters, return every identity the entry
    may be known by: the EMAIL parameter's address, the value's own mail address, and the
    value's non-mail key (see the module notes on recognising the user)."""
    own = _mail_of(value)
    keys = {address_key(value, params), own or _uri_key(value)}
    keys.discard("")
    return frozenset(keys)


def is_mine(value: str, params: Mapping[str, Any] | None, mine: Iterable[str]) -> bool:
    """Given a calendar-user address value, its parameters and the user's identities (from
    :func:`own_addresses`), return whether the entry is the user's own."""
    wanted = mine if isinstance(mine, frozenset | set) else frozenset(mine)
    return not identities(value, params).isdisjoint(wanted)


def address_problem(value: str, params: Mapping[str, Any] | None = None) -> str | None:
    """Given a calendar-user address value and its parameters, return what is wrong with an
    entry that tries to name a mail address and fails (a broken ``mailto:``, an EMAIL parameter
    that is no address, a value that is no URI at all), or None if nothing is. Values that are
    valid URIs but not mail (urn:uuid:, principal URLs and paths, tel:, invalid:) are no
    problem: RFC 5545 §3.3.3 allows them."""
    email = _param(params, "EMAIL")
    if email and _mail_of(email):
        return None
    text = _unwrap(str(value))
    found = _mail_of(text)
    if email and not found:
        return f"its EMAIL parameter {email!r} is not an e-mail address"
    if found:
        return None
    scheme = _SCHEME.match(text)
    if not text:
        return "it has no address"
    if scheme and scheme.group(1).lower() == "mailto":
        return f"{text!r} is not a valid mailto: address (RFC 6068)"
    if not scheme and not text.startswith("/"):
        return f"{text!r} is neither an e-mail address nor a URI (RFC 5545 §3.3.3)"
    return None


def own_addresses(*groups: Iterable[str]) -> frozenset[str]:
    """Given groups of the user's addresses (``[me] emails``, each principal's
    calendar-user-address-set, RFC 6638 §2.4.1), return the identities that mean the user."""
    return frozenset(k for group in groups for v in group if (k := address_key(str(v))))


def user_addresses(
    emails: Iterable[str], state: Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]]
) -> frozenset[str]:
    """Given ``[me] emails`` and the ``sync_state`` documents (by id, or as a list), return the
    user's identities: the configured addresses and every calendar-user-address-set that a
    CalDAV account's principal offered at discovery (stored as the account's ``addresses``)."""
    docs = state.values() if isinstance(state, Mapping) else state
    found: list[str] = []
    for doc in docs:
        if doc.get("kind") == "account":
            found.extend(str(a) for a in doc.get("addresses") or ())
    return own_addresses(emails, found)


# -- internals --------------------------------------------------------------------------------


def _param(params: Mapping[str, Any] | None, name: str) -> str:
    if not params:
        return ""
    raw = params.get(name)
    if raw is None:
        raw = next((v for k, v in params.items() if str(k).upper() == name), None)
    if isinstance(raw, list | tuple):
        raw = raw[0] if len(raw) == 1 else ""  # several EMAILs name no single person
    return str(raw).strip() if raw is not None else ""


def _unwrap(value: str) -> str:
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == "<" and text[-1] == ">":
        text = text[1:-1].strip()
    return text


# Meetings repeat the same few addresses (a series, a team): each distinct text is read once.
@lru_cache(maxsize=8192)
def _mail_of(value: str) -> str | None:
    text = _unwrap(str(value))
    scheme = _SCHEME.match(text)
    if scheme:
        if scheme.group(1).lower() != "mailto":
            return None
        # RFC 6068 §2: the address list ends at "?", and every part may be percent-encoded.
        body = text[scheme.end() :].split("?", 1)[0].lstrip("/")
        # A broken escape decodes to U+FFFD, which _addr_spec refuses.
        return _addr_spec(unquote(body, errors="replace"))
    # No scheme: a bare addr-spec, which RFC 5545 does not allow in a value but many producers
    # write; an EMAIL parameter is one by definition (RFC 7986 §6.3) and is not percent-encoded.
    return _addr_spec(text)


def _addr_spec(text: str) -> str | None:
    """Return ``text`` lower case if it is one addr-spec (local@domain), else None."""
    text = text.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or not _DOMAIN.match(domain):
        return None
    quoted = len(local) >= 2 and local[0] == local[-1] == '"'
    if not quoted and ("@" in local or '"' in local or _LOCAL_BAD.search(local)):
        return None  # several addresses, a display name or a broken value: not one mailbox
    if _UNREADABLE.search(text):
        return None
    return text.lower()


@lru_cache(maxsize=8192)
def _uri_key(value: str) -> str:
    text = _unwrap(str(value))
    if not text:
        return ""
    scheme = _SCHEME.match(text)
    if text.startswith("/") or (scheme and scheme.group(1).lower() in ("http", "https")):
        path = unquote(urlsplit(text).path) if scheme else unquote(text.split("?", 1)[0])
        return path.rstrip("/") or "/"
    return text.lower()


__all__ = [
    "PLAIN_ADDRESS",
    "address_key",
    "address_problem",
    "identities",
    "is_mine",
    "mail_address",
    "own_addresses",
    "user_addresses",
]
