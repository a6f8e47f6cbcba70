"""Which sources a ``--source NAME`` means.

Every source has an internal name with its kind as a prefix (``account:work``, ``feed:team``,
``programme:finops``); users know only the names they wrote in the config, which the config
check keeps unique across kinds. A bare name selects the source of that name; the prefixed
form is accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable

from mendcrm.config.model import Config
from mendcrm.errors import UsageError


def configured_sources(config: Config) -> dict[str, str]:
    """Given the config, return ``{internal name: the name the user wrote}`` for every source."""
    found = {f"account:{a.name}": a.name for a in config.accounts}
    found.update({f"feed:{f.name}": f.name for f in config.feeds})
    found.update({f"programme:{p.name}": p.name for p in config.programmes})
    return found


def select_sources(config: Config, names: Iterable[str]) -> set[str]:
    """Given the config and the names given on the command line, return the internal names of
    the sources they select; raise UsageError (exit 2) for an unknown name, naming the known
    ones."""
    known = configured_sources(config)
    chosen: set[str] = set()
    for name in names:
        wanted = name.strip()
        if wanted in known:
            chosen.add(wanted)
            continue
        matches = [internal for internal, plain in known.items() if plain == wanted]
        if matches:
            chosen.update(matches)  # one at most: names are unique across kinds
        else:
            listed = ", ".join(sorted(set(known.values()))) or "none configured"
            raise UsageError(
                f"--source {wanted!r} is not a configured source", hint=f"known: {listed}"
            )
    return chosen


__all__ = ["configured_sources", "select_sources"]
