"""Rendering: prep notes, follow-ups and nudges as plain Markdown, and one-line summaries.

Templates are Jinja2 files (``mendcrm/templates/*.j2``); the user may replace the prep and
follow-up templates by path (``[prep] template``, ``[followup] template``). Templates receive:

- ``kind`` (``prep``/``followup``/``nudge``) and ``item_id`` (the queue item's id);
- ``contact`` (:class:`~mendcrm.model.Contact`) and ``stage`` (:class:`~mendcrm.playbook.Stage`);
- ``encounter`` (:class:`~mendcrm.model.Encounter` or None), ``conference`` (bool),
  ``event`` (``summary``, ``location``, ``calendar``, ``when``), ``others`` (names of the other
  flagged contacts present), ``reason`` (why it matched, in words);
- ``recent`` (up to five interactions, newest first: ``date``, ``kind``, ``outcome``, ``note``)
  and ``last_outcome`` (the newest one with an outcome, or None);
- ``cadence_days`` (nudges) and ``extra_sections`` (Markdown from plugins).

Rendering never looks at the clock: the same inputs give the same text, which keeps planning
idempotent (a body changes only when what it says changes).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mendcrm.config.model import Config, MeConfig
from mendcrm.errors import ConfigError
from mendcrm.events import zones
from mendcrm.model import Contact, Encounter, Interaction, QueueItem

if TYPE_CHECKING:  # Jinja2 is imported by the first template load: `upcoming` needs none
    import jinja2

    from mendcrm.playbook import Playbook  # its YAML loading is for those who render notes

SectionsHook = Callable[[QueueItem, Contact, Encounter | None], Sequence[str]]
"""Extra Markdown sections for a note (the lead wires this to the ``prep_note_sections`` hook)."""

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_RECENT = 5

_LABELS = {
    "attendee-email": "invited to the event",
    "organizer-email": "organises the event",
    "attendee-name": "named among the attendees",
    "name-in-summary": "named in the event title",
    "name-in-location": "named in the location",
    "name-in-description": "named in the event description",
    "name-word": "maybe named, by one word only",
    "conference-affinity": "a conference they tend to attend",
    "conference-org": "their organisation appears at this conference",
    "programme-speaker": "speaks there, by the conference programme",
}


def user_zone(me: MeConfig) -> tzinfo:
    """Given the ``[me]`` config, return the user's time zone (the system's if none is set).

    Raise :class:`ConfigError` if the configured zone is unknown.
    """
    return zones.user_zone(me.timezone)


def zone_name(zone: tzinfo) -> str:
    """Given a zone, return its IANA key if it has one, else its abbreviation."""
    key = getattr(zone, "key", None)
    return str(key) if key else (datetime.now(UTC).astimezone(zone).tzname() or "UTC")


def _day(moment: datetime) -> str:
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _short_day(moment: datetime) -> str:
    return f"{_DAYS[moment.weekday()][:3]} {moment.day} {_MONTHS[moment.month - 1][:3]}"


def describe_when(start: datetime, end: datetime, zone: tzinfo, *, all_day: bool = False) -> str:
    """Given an occurrence's UTC start and end, return when it is, in words, in ``zone``."""
    s, e = start.astimezone(zone), end.astimezone(zone)
    if all_day:
        # DTEND of an all-day event is exclusive: a one-day event ends at the next midnight.
        last = (e - timedelta(days=1)).date() if e.date() > s.date() else s.date()
        if last == s.date():
            return f"{_day(s)} (all day)"
        return f"{_day(s)} to {_day(datetime(last.year, last.month, last.day))} (all day)"
    where = zone_name(zone)
    if s.date() == e.date():
        return f"{_day(s)}, {s:%H:%M}–{e:%H:%M} ({where})"
    return f"{_day(s)} {s:%H:%M} to {_day(e)} {e:%H:%M} ({where})"


def match_reason(encounter: Encounter) -> str:
    """Given an encounter, return why it matched, in words (rule label and evidence)."""
    label = _LABELS.get(encounter.match.by, encounter.match.by)
    return f"{label} ({encounter.match.evidence})"


def summary_line(
    kind: str,
    contact: Contact,
    encounter: Encounter | None,
    *,
    zone: tzinfo,
    detail: str = "discreet",
    playbook: Playbook | None = None,
) -> str:
    """Given a note's kind, contact and encounter, return a one-line summary.

    ``discreet`` (the default, for calendars and notifications others may glance at) names the
    person, the event and that a note is ready, never the stage or the history; ``full`` adds
    the stage and its first piece of guidance (needs ``playbook``).
    """
    if kind == "nudge":
        line = f"A small step to consider with {contact.name}"
    elif kind == "heads-up":
        line = f"Heads-up: {contact.name} speaks at a conference"
        if encounter is not None:
            line += f" — {encounter.occurrence.calendar_name or encounter.occurrence.summary}"
    else:
        label = "Prep note ready" if kind == "prep" else "Follow-up ready"
        line = f"{label}: {contact.name}"
        if encounter is not None:
            occ = encounter.occurrence
            when = _short_day(occ.start.astimezone(zone))
            if not occ.all_day:
                when += f" {occ.start.astimezone(zone):%H:%M}"
            line += f" — {occ.summary.strip() or 'event'}, {when}"
    if detail == "full" and playbook is not None:
        stage = playbook.stage(contact.stage)
        line += f" · {stage.name}: {stage.prep[0]}"
    return " ".join(line.split())


_OPENER_CHARS = 200


def _opener(abstract: str) -> str:
    """Given a session's abstract, return its start (the first sentence, at most 200
    characters) as an opener: the other person's own work."""
    text = " ".join(abstract.split())
    first = text.split(". ", 1)[0]
    if len(first) > _OPENER_CHARS:
        first = first[: _OPENER_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return first


@functools.cache
def _environment() -> jinja2.Environment:
    """Return the one Jinja2 environment of this process.

    Compiling a template costs tens of milliseconds, about half of a no-change pass when a
    new environment was built per pass. Jinja2 caches the built-in templates in this
    environment and, with ``auto_reload``, recompiles one whose file changed.
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mendcrm", "templates"),
        autoescape=False,  # Markdown for the user, not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )


_USER_TEMPLATES: OrderedDict[str, jinja2.Template] = OrderedDict()
_USER_TEMPLATES_KEPT = 8


def _compile_text(text: str) -> jinja2.Template:
    """Given a user template's text, return it compiled, from the cache when the same text was
    compiled before (keyed on the text itself, so an edited file always takes effect).

    Raise :class:`jinja2.TemplateSyntaxError` if it does not parse.
    """
    template = _USER_TEMPLATES.get(text)
    if template is None:
        template = _environment().from_string(text)
        _USER_TEMPLATES[text] = template
        if len(_USER_TEMPLATES) > _USER_TEMPLATES_KEPT:
            _USER_TEMPLATES.popitem(last=False)
    else:
        _USER_TEMPLATES.move_to_end(text)
    return template


def _load(path: Path | None, default: str, key: str) -> tuple[jinja2.Template, str]:
    """Given a user template's path (or None) and the built-in's name, return it compiled, with
    what it was made from (the user's text, or the built-in's name).

    Raise :class:`ConfigError` naming ``key`` if the file cannot be read or does not parse.
    """
    import jinja2

    try:
        if path is None:
            return _environment().get_template(default), default
        text = path.read_text("utf-8")
        return _compile_text(text), text
    except OSError as exc:
        raise ConfigError(
            f"{key}: cannot read {path} ({exc.strerror or exc})",
            hint="fix the path, or remove the key to use the built-in one",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"{key}: {path or default} line {exc.lineno}: {exc.message}",
            hint="see the built-in templates for the variables offered",
        ) from None


def template_sources(config: Config) -> dict[str, str]:
    """Given the config, return per note kind what its template is made from — the user's text,
    or the built-in's name — without compiling anything (what :class:`Renderer` records as
    ``template_sources``; a file that cannot be read is named, and fails when rendering)."""
    found: dict[str, str] = {}
    for kind, path in (("prep", config.prep.template), ("followup", config.followup.template)):
        try:
            found[kind] = path.read_text("utf-8") if path is not None else f"{kind}.md.j2"
        except (OSError, UnicodeDecodeError):
            found[kind] = f"unreadable: {path}"
    found["nudge"] = "nudge.md.j2"
    return found


class Renderer:
    """Templates loaded once (at the edge; compiled once per process), then pure rendering of
    notes."""

    def __init__(
        self,
        playbook: Playbook,
        zone: tzinfo,
        *,
        prep_template: Path | None = None,
        followup_template: Path | None = None,
        nudge_template: Path | None = None,
        sections: SectionsHook | None = None,
    ) -> None:
        self.playbook = playbook
        self.zone = zone
        self.sections = sections
        loaded = {
            "prep": _load(prep_template, "prep.md.j2", "[prep] template"),
            "followup": _load(followup_template, "followup.md.j2", "[followup] template"),
            "nudge": _load(nudge_template, "nudge.md.j2", "nudge template"),
        }
        self._templates = {kind: template for kind, (template, _) in loaded.items()}
        self.template_sources: dict[str, str] = {kind: made for kind, (_, made) in loaded.items()}
        """Per note kind, the user's template text or the built-in's name (the pass memo's)."""

    @classmethod
    def from_config(
        cls, config: Config, playbook: Playbook, sections: SectionsHook | None = None
    ) -> Renderer:
        """Given the config and playbook, return a renderer with the user's templates loaded.

        Raise :class:`ConfigError` if a template file cannot be read or does not parse.
        """
        return cls(
            playbook,
            user_zone(config.me),
            prep_template=config.prep.template,
            followup_template=config.followup.template,
            sections=sections,
        )

    def render(
        self,
        item: QueueItem,
        contact: Contact,
        encounter: Encounter | None,
        *,
        interactions: Sequence[Interaction] = (),
        contacts: Mapping[str, Contact] | None = None,
    ) -> str:
        """Given a queue item with its contact and encounter, return the note's Markdown body.

        ``interactions`` are the contact's (any order); ``contacts`` resolve the names of others
        present. Raise :class:`ConfigError` if a user template fails on these values.
        """
        context = self._context(item, contact, encounter, interactions, contacts or {})
        try:
            text = self._templates[item.kind].render(**context)
        except Exception as exc:  # a user template may fail in any way: {{ 1 / 0 }}, a bad call
            detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
            raise ConfigError(
                f"{item.kind} template failed while rendering: {type(exc).__name__}"
                + (f": {detail}" if detail else ""),
                hint="see the built-in templates for the variables offered",
            ) from None
        return text.rstrip() + "\n"

    def title(self, item: QueueItem, contact: Contact, encounter: Encounter | None) -> str:
        """Return the item's discreet one-line title (see :func:`summary_line`)."""
        return summary_line(item.kind, contact, encounter, zone=self.zone)

    def _context(
        self,
        item: QueueItem,
        contact: Contact,
        encounter: Encounter | None,
        interactions: Sequence[Interaction],
        contacts: Mapping[str, Contact],
    ) -> dict[str, Any]:
        stage = self.playbook.stage(contact.stage)
        mine = sorted(
            (i for i in interactions if i.contact_id == contact.id),
            key=lambda i: (i.when, i.id),
            reverse=True,
        )
        recent = [
            {
                "date": _day(i.when.astimezone(self.zone)),
                "kind": i.kind,
                "outcome": i.outcome or "",
                "note": " ".join(i.note.split()),
            }
            for i in mine[:_RECENT]
        ]
        last = next((r for r, i in zip(recent, mine, strict=False) if i.outcome), None)
        event: dict[str, str] = {}
        others: list[str] = []
        if encounter is not None:
            occ = encounter.occurrence
            event = {
                "summary": " ".join(occ.summary.split()) or "(untitled event)",
                "location": " ".join(occ.location.split()),
                "calendar": occ.calendar_name,
                "when": describe_when(occ.start, occ.end, self.zone, all_day=occ.all_day),
            }
            others = [
                contacts[o].name if o in contacts else "another flagged contact"
                for o in encounter.others
            ]
        extra = list(self.sections(item, contact, encounter)) if self.sections else []
        talks = [
            {
                "when": describe_when(t.start, t.end, self.zone, all_day=False),
                "room": t.room,
                "title": " ".join(t.title.split()),
                "opener": _opener(t.abstract),
            }
            for t in (encounter.talks if encounter is not None else ())
        ]
        return {
            "kind": item.kind,
            "item_id": item.id,
            "contact": contact,
            "stage": stage,
            "encounter": encounter,
            "conference": encounter is not None and encounter.kind == "conference",
            "talks": talks,
            "event": event,
            "others": others,
            "reason": match_reason(encounter) if encounter is not None else "",
            "recent": recent,
            "last_outcome": last,
            "cadence_days": stage.cadence_days,
            "extra_sections": [s.strip() for s in extra if s and s.strip()],
        }


__all__ = [
    "Renderer",
    "SectionsHook",
    "describe_when",
    "match_reason",
    "summary_line",
    "user_zone",
    "zone_name",
]
