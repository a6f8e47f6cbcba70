"""Stock TinyDB doing what ``mendcrm upcoming --json`` does, as a user's script would.

Run: ``python -m bench.store_peer DB_FILE --now ISO --days N``. Opens the file with TinyDB's
default JSONStorage, reads contacts, the queue and encounters, keeps the active encounters in
the next N days and prints the same JSON shape as MendCRM (contact name, event, match, due
times of the prep note and follow-up).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any

from tinydb import TinyDB


def upcoming(db_file: str, now: datetime, days: int) -> list[dict[str, Any]]:
    """Given a stock TinyDB file, return the encounters ahead in MendCRM's JSON form."""
    until = now + timedelta(days=days)
    db = TinyDB(db_file)
    try:
        names = {c["id"]: c["name"] for c in db.table("contacts").all()}
        due: dict[tuple[str, str], str] = {}
        for item in db.table("queue").all():
            if item.get("encounter_id") and item["state"] != "withdrawn":
                due.setdefault((item["encounter_id"], item["kind"]), item["due"])
        out = []
        for e in db.table("encounters").all():
            occ = e["occurrence"]
            start, end = datetime.fromisoformat(occ["start"]), datetime.fromisoformat(occ["end"])
            if e["state"] != "active" or end < now or start > until:
                continue
            out.append(
                {
                    "id": e["id"],
                    "contact": {"id": e["contact_id"], "name": names.get(e["contact_id"], "")},
                    "kind": e["kind"],
                    "state": e["state"],
                    "event": {
                        "summary": occ["summary"],
                        "start": occ["start"],
                        "end": occ["end"],
                        "all_day": occ["all_day"],
                        "uid": occ["uid"],
                        "recurrence_id": occ["recurrence_id"],
                        "calendar": occ["calendar_name"] or occ["calendar"],
                        "source": occ["source"],
                        "location": occ["location"],
                    },
                    "match": e["match"],
                    "contact_declined": e["contact_declined"],
                    "others": [names[o] for o in e["others"] if o in names],
                    "prep_due": due.get((e["id"], "prep")),
                    "followup_due": due.get((e["id"], "followup")),
                }
            )
        return out
    finally:
        db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_peer")
    parser.add_argument("db")
    parser.add_argument("--now", required=True)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    found = upcoming(args.db, datetime.fromisoformat(args.now), args.days)
    print(json.dumps(found, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
