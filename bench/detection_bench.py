"""Detection speed: MendCRM's indexed detection against a naive all-pairs scan, in one run.

Seeded synthetic data: flagged contacts (names, aliases, e-mails, organisations, affinity
terms) and calendar occurrences (meetings with attendees, names in titles and descriptions,
all-day conferences). The naive peer checks every occurrence against every contact with
precompiled per-contact regular expressions; it runs on a sample of occurrences and is scaled up
(say ``--peer-sample 0`` to run it on all of them). Both must find the same pairs on the sample.

    python bench/detection_bench.py [--occurrences 10000] [--contacts 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mendcrm.config.model import DetectionConfig, MeConfig
from mendcrm.detection import ContactIndex, detect, fold, looks_like_conference
from mendcrm.model import Attendee, Contact, Occurrence, normalize_email

FIRST = (
    "Robert",
    "Ann",
    "Kim",
    "José",
    "Li",
    "Maria",
    "Tom",
    "Priya",
    "Jean-Luc",
    "Sofia",
    "Ahmed",
    "Olga",
    "Chen",
    "Lucas",
    "Ines",
    "Noah",
    "Emma",
    "Yuki",
    "Omar",
    "Zoe",
)
LAST = (
    "Hale",
    "Ortega",
    "Lee",
    "Núñez",
    "Wang",
    "Schmidt",
    "Okafor",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Berg",
    "Silva",
    "Tanaka",
    "Haddad",
    "Novak",
    "Murphy",
    "Jensen",
    "Costa",
    "Fischer",
    "Moreau",
    "Halewood",
    "Roberts",
    "Park",
    "Ali",
    "Meyer",
)
WORDS = (
    "budget",
    "review",
    "sync",
    "planning",
    "coffee",
    "lunch",
    "roadmap",
    "retro",
    "with",
    "kickoff",
    "quarterly",
    "design",
    "offsite",
    "hiring",
    "demo",
    "notes",
    "agenda",
    "1:1",
)
CONFS = ("PyCon", "KubeCon", "Web Summit", "DevOpsDays", "FOSDEM", "Strata", "RSA Conference")
ME = MeConfig(emails=("me@bench.example",))
SETTINGS = DetectionConfig()


def make_contacts(n: int, rng: random.Random) -> list[Contact]:
    contacts = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        contacts.append(
            Contact(
                id=f"c{i:05d}",
                name=f"{first} {last} {i}" if rng.random() < 0.7 else f"{first} {last}",
                aliases=(f"{first[0]}. {last} {i}",) if rng.random() < 0.3 else (),
                emails=(f"{first}.{last}.{i}@org{i % 300}.example".lower(),),
                org=f"Org {i % 300} Labs",
                affinity=(rng.choice(CONFS),) if rng.random() < 0.2 else (),
                stage=rng.choice(("strained", "cordial", "talking", "rebuilding")),
            )
        )
    return contacts


def make_occurrences(n: int, contacts: Sequence[Contact], rng: random.Random) -> list[Occurrence]:
    base = datetime(2025, 3, 1, tzinfo=UTC)
    occurrences = []
    for i in range(n):
        start = base + timedelta(hours=rng.randrange(24 * 30))
        conference = rng.random() < 0.05
        attendees = tuple(
            Attendee(email=f"MAILTO:person{rng.randrange(100_000)}@x.example", cn="Some Person")
            for _ in range(rng.randrange(1, 8))
        )
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6)))
        description = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 40)))
        if rng.random() < 0.03:
            who = rng.choice(contacts)
            attendees += (Attendee(email="mailto:" + who.emails[0].upper(), cn=who.name),)
        if rng.random() < 0.03:
            summary += " w/ " + rng.choice(contacts).name
        if rng.random() < 0.02:
            description += " " + rng.choice(LAST) + "wood"
        if conference:
            summary = rng.choice(CONFS) + " 2025"
            description += " sponsors: " + rng.choice(contacts).org
        occurrences.append(
            Occurrence(
                source="account:bench",
                calendar="https://dav.example/cal/",
                href=f"/e{i}.ics",
                uid=f"e{i}",
                start=start,
                end=start + timedelta(hours=48 if conference else 1),
                summary=summary,
                description=description,
                attendees=attendees,
                all_day=conference,
            )
        )
    return occurrences


def _phrase(text: str) -> re.Pattern[str] | None:
    parts = re.findall(r"\w+", fold(text))
    if not parts:
        return None
    gap = r"(?:\s+|\s*[-\u2010'\u2019.]\s*)"
    return re.compile(r"(?<!\w)" + gap.join(map(re.escape, parts)) + r"(?!\w)")


def naive_detect(
    occurrences: Sequence[Occurrence], contacts: Sequence[Contact]
) -> set[tuple[str, str]]:
    """The peer: every occurrence against every contact, regexes compiled once per contact."""
    prepared = []
    for c in contacts:
        names = [p for p in (_phrase(t) for t in (c.name, *c.aliases)) if p]
        sorted_names = {tuple(sorted(re.findall(r"\w+", fold(t)))) for t in (c.name, *c.aliases)}
        affinity = [p for p in (_phrase(t) for t in c.affinity) if p]
        org = _phrase(c.org) if c.org else None
        prepared.append(
            (c, {normalize_email(e) for e in c.emails}, names, sorted_names, affinity, org)
        )
    found = set()
    for occ in occurrences:
        conference = looks_like_conference(occ, SETTINGS.conference_keywords)
        emails = {normalize_email(a.email) for a in occ.attendees}
        cns = [fold(a.cn) for a in occ.attendees if a.cn]
        cn_sorted = {tuple(sorted(re.findall(r"\w+", cn))) for cn in cns}
        texts = [fold(t) for t in (occ.summary, occ.location, occ.description) if t]
        for c, c_emails, names, sorted_names, affinity, org in prepared:
            hit = (
                bool(emails & c_emails)
                or bool(cn_sorted & sorted_names)
                or any(p.search(t) for p in names for t in texts + cns)
                or (
                    conference
                    and (
                        any(p.search(t) for p in affinity for t in texts)
                        or (org is not None and any(org.search(t) for t in texts))
                    )
                )
            )
            if hit:
                found.add((occ.uid, c.id))
    return found


def _timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    wall, _, result = _clocked(fn, repeat)
    return wall, result


def _clocked(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Return the median wall time and the median CPU time of this process over ``repeat``
    runs of ``fn``, and its last result. CPU time moves less than wall time when other work
    shares the machine's cores."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        # Free the previous run's result before the clock starts: tens of thousands of
        # encounters, whose freeing is not this run's work.
        result = None
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def run(
    occurrences_n: int = 10_000,
    contacts_n: int = 2_000,
    seed: int = 7,
    repeat: int = 5,
    peer_sample: int = 300,
) -> dict[str, object]:
    """Generate the data from ``seed``, time MendCRM's detection and the naive scan; return the
    figures (seconds are medians of ``repeat`` runs; the peer's is scaled from its sample)."""
    rng = random.Random(seed)
    contacts = make_contacts(contacts_n, rng)
    occurrences = make_occurrences(occurrences_n, contacts, rng)

    build_s, index = _timed(lambda: ContactIndex.build(contacts), repeat)
    assert isinstance(index, ContactIndex)
    detect_s, encounters = _timed(
        lambda: detect(occurrences, index, me=ME, settings=SETTINGS), repeat
    )
    assert isinstance(encounters, list)
    both_s, both_cpu_s, _ = _clocked(
        lambda: detect(occurrences, ContactIndex.build(contacts), me=ME, settings=SETTINGS), repeat
    )

    sample = occurrences if peer_sample <= 0 else occurrences[:peer_sample]
    peer_s, peer_found = _timed(lambda: naive_detect(sample, contacts), 1)
    # The peer compiles its patterns once: scale only the per-occurrence part of its time.
    prep_s, _ = _timed(lambda: naive_detect([], contacts), 1)
    sample_uids = {o.uid for o in sample}
    ours = {(e.occurrence.uid, e.contact_id) for e in encounters if e.occurrence.uid in sample_uids}
    return {
        "occurrences": len(occurrences),
        "contacts": len(contacts),
        "seed": seed,
        "repeat": repeat,
        "build_s": build_s,
        "detect_s": detect_s,
        "both_s": both_s,
        "both_cpu_s": both_cpu_s,
        "encounters": len(encounters),
        "peer_sample": len(sample),
        "peer_s": peer_s,
        "peer_prep_s": prep_s,
        "peer_full_s": prep_s + max(0.0, peer_s - prep_s) * len(occurrences) / len(sample),
        "pairs_differ": len(ours ^ peer_found),  # type: ignore[operator]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--peer-sample", type=int, default=300, help="occurrences the naive peer scans (0 = all)"
    )
    args = parser.parse_args()
    f = run(args.occurrences, args.contacts, args.seed, args.repeat, args.peer_sample)
    n_occ, n_con, n_enc = f["occurrences"], f["contacts"], f["encounters"]
    peer_s, peer_full_s, both_s = f["peer_s"], f["peer_full_s"], f["both_s"]
    assert isinstance(peer_full_s, float) and isinstance(both_s, float)
    agree = "yes" if not f["pairs_differ"] else f"NO ({f['pairs_differ']} pairs differ)"

    print(
        f"detection: {n_occ:,} occurrences x {n_con:,} flagged contacts "
        f"(seed {args.seed}, median of {args.repeat})"
    )
    print(f"{'':28}{'seconds':>10}{'encounters':>12}")
    print(f"{'index build':28}{f['build_s']:>10.3f}{'':>12}")
    print(f"{'MendCRM detect (indexed)':28}{f['detect_s']:>10.3f}{n_enc:>12,}")
    print(f"{'MendCRM build + detect':28}{both_s:>10.3f}{n_enc:>12,}")
    scaled = (
        ""
        if f["peer_sample"] == n_occ
        else f" (measured {peer_s:.2f}s on {f['peer_sample']:,}, scaled)"
    )
    print(f"{'naive all-pairs scan':28}{peer_full_s:>10.2f}{'':>12}{scaled}")
    print(
        f"ratio naive / indexed: {peer_full_s / both_s:,.0f}x; "
        f"same pairs on the peer's sample: {agree}"
    )


if __name__ == "__main__":
    main()
