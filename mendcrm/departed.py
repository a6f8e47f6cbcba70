"""Sources that left the config: their encounters are held back for one pass, with a warning.

A source that has upcoming encounters but is no longer in the config may be a typo or a rename;
withdrawing its encounters at once would lose the user's notes for nothing. The pass keeps what
it knows in the store's ``meta`` table under :data:`DEPARTED_ID`.
"""

from __future__ import annotations

from datetime import datetime

from mendcrm.config.model import Config
from mendcrm.model import Encounter
from mendcrm.store import Transaction

DEPARTED_ID = "departed_sources"


def hold_departed_sources(
    tx: Transaction,
    config: Config,
    encounters: list[Encounter],
    now: datetime,
    warnings: list[str] | None,
) -> set[str]:
    """Given the stored encounters, return the sources to hold back this pass, and warn.

    A source that has upcoming encounters but is no longer in the config may be a typo or a
    rename: the first pass that notices keeps its encounters and state (and says so); the next
    one lets them go. Putting the source back cancels the countdown.
    """
    configured = {f"account:{a.name}" for a in config.accounts}
    configured |= {f"feed:{f.name}" for f in config.feeds}
    configured |= {f"programme:{p.name}" for p in config.programmes}
    upcoming = [e for e in encounters if e.state == "active" and e.occurrence.end >= now]
    active = {e.occurrence.source for e in upcoming}
    record = dict(tx.get("meta", DEPARTED_ID) or {"id": DEPARTED_ID})
    noticed: dict[str, str] = {
        s: when for s, when in record.get("sources", {}).items() if s not in configured
    }
    held: set[str] = set()
    for source in sorted(active - configured):
        if source in noticed:
            continue  # warned last pass: withdraw now
        noticed[source] = now.isoformat()
        held.add(source)
        count = sum(1 for e in upcoming if e.occurrence.source == source)
        if warnings is not None:
            warnings.append(
                f"{source} is no longer in the config: its {count} encounter(s) are kept for "
                "now and withdrawn at the next sync (put it back to keep them)"
            )
    noticed = {s: w for s, w in noticed.items() if s in active}
    if noticed != record.get("sources", {}):
        tx.put("meta", {"id": DEPARTED_ID, "sources": noticed})
    return held


__all__ = ["DEPARTED_ID", "hold_departed_sources"]
