"""A ``Postmortem`` as Markdown that reads well on GitHub (and in a terminal).

One title, the summary as a table, each section a second-level heading, the timeline and
the changes before the break as tables, the headings only people can fill with a placeholder
line, and the actions with their status (overdue ones marked). No raw HTML: text that people
typed (titles, notes, reasons) is escaped, so a ``<`` or a ``|`` in a note cannot open a tag
or break a table.

Times are told in the environment's time zone: the clock time for the day the incident was
opened, with the day in front for any other day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from signalbox.core.postmortem import PLACEHOLDER, Change, Postmortem, describe_duration
from signalbox.core.times import to_zone

__all__ = ["render_markdown"]

_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
"""Backslash-escaped in people's text. ``_`` is not: inside a word (``aws_db_instance``) it
is never emphasis, and escaping it would make the raw Markdown hard to read."""


def escape(text: str) -> str:
    """``text`` as literal Markdown on one line: its special characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: str) -> str:
    """An address as inline code (a pipe still escaped: GitHub splits table cells first)."""
    cleaned = text.replace("`", "'").replace("|", "\\|")
    return f"`{cleaned}`"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines


class _Clock:
    def __init__(self, postmortem: Postmortem) -> None:
        self.zone = postmortem.timezone
        self.day = to_zone(postmortem.opened_at, self.zone).date()

    def __call__(self, moment: datetime | None) -> str:
        if moment is None:
            return "-"
        local = to_zone(moment, self.zone)
        name = local.tzname() or self.zone
        if local.date() == self.day:
            return f"{local:%H:%M} {name}"
        return f"{local:%a} {local.day} {local:%b} {local:%H:%M} {name}"

    def full(self, moment: datetime) -> str:
        local = to_zone(moment, self.zone)
        return f"{local:%a} {local.day} {local:%b %Y} {local:%H:%M} {local.tzname() or self.zone}"


def render_markdown(postmortem: Postmortem) -> str:
    """The draft as Markdown, ending with a newline."""
    clock = _Clock(postmortem)
    p = postmortem
    lines = [
        f"# Postmortem: incident {p.incident_id} on {escape(p.environment)}: {escape(p.title)}",
        "",
        f"_Draft written by signalbox from the event log on {clock.full(p.generated_at)}. "
        "Check it, fill in what only people can tell, and share it._",
        "",
        "## Summary",
        "",
        *_summary(p, clock),
        "",
        "## Impact",
        "",
        *_impact(p, clock),
        "",
        "## The changes before the break",
        "",
        *_changes(p, clock),
        "",
        f"## Timeline ({escape(p.timezone)})",
        "",
        *_timeline(p, clock),
        "",
        "## Updates as posted",
        "",
        *_updates(p, clock),
        "",
    ]
    for heading in p.for_people:
        lines += [f"## {heading}", "", f"_{PLACEHOLDER}_", ""]
    lines += ["## Follow-up actions", "", *_actions(p), ""]
    return "\n".join(lines)


def _summary(p: Postmortem, clock: _Clock) -> list[str]:
    resolved = clock(p.resolved_at) if p.resolved_at is not None else f"not yet ({p.status})"
    duration = describe_duration(p.duration_seconds)
    if p.resolved_at is None:
        duration += " so far"
    rows = [
        ("Environment", escape(p.environment)),
        ("Title", escape(p.title)),
        ("Severity", p.severity),
        ("Commander", escape(p.commander)),
        ("Responders", escape(", ".join(p.responders)) or "-"),
        ("Opened", f"{clock.full(p.opened_at)} by {escape(p.opened_by)}"),
        ("Resolved", resolved),
        ("Duration", duration),
        ("Time zone", escape(p.timezone)),
    ]
    return _table(("Field", "Value"), rows)


def _impact(p: Postmortem, clock: _Clock) -> list[str]:
    impact = p.impact
    ends = clock(impact.ends) if impact.ends is not None else "still going"
    return [
        f"- **Impact window:** {clock(impact.starts)} to {ends}, from {escape(impact.starts_with)}"
        f" to {escape(impact.ends_with)}.",
        f"- **Time to detect:** {describe_duration(p.time_to_detect_seconds)} "
        "(from the start of the impact to the incident's opening).",
        f"- **Time to mitigate:** {describe_duration(p.time_to_mitigate_seconds)} "
        f"(from the start of the impact to {escape(impact.ends_with)}).",
        f"- **Time to resolve:** {describe_duration(p.time_to_resolve_seconds)} "
        "(from the start of the impact to the resolution).",
    ]


def _changes(p: Postmortem, clock: _Clock) -> list[str]:
    lines: list[str] = []
    taken = p.breaking_change
    if taken is None:
        lines.append(
            "No deploy or state write ran in the window before the incident was opened "
            f"(from {clock(p.window_starts)}); the impact is counted from the opening."
        )
    else:
        lines.append(
            f"**The change taken as the one that broke it** ({clock(taken.at)}): "
            f"{escape(taken.text)}. {escape(taken.why)}"
        )
    lines.append("")
    if p.destroyed:
        named = ", ".join(code(address) for address in p.destroyed)
        lines += [f"**Stateful resources destroyed or removed:** {named}", ""]
    if not p.changes_before:
        lines.append(f"Nothing changed on {escape(p.environment)} in the window.")
        return lines
    lines += _table(
        ("Time", "Kind", "Who", "What", "Destroyed or removed"),
        (_change_row(change, clock) for change in p.changes_before),
    )
    return lines


def _change_row(change: Change, clock: _Clock) -> tuple[str, ...]:
    addresses = ", ".join(code(address) for address in change.addresses)
    return (clock(change.at), change.kind, escape(change.who), escape(change.text), addresses)


def _timeline(p: Postmortem, clock: _Clock) -> list[str]:
    if not p.timeline:
        return ["No events in the window."]
    rows = ((clock(e.at), escape(e.who), escape(e.words)) for e in p.timeline)
    return _table(("Time", "Who", "What happened"), rows)


def _updates(p: Postmortem, clock: _Clock) -> list[str]:
    if not p.updates:
        return ["No updates were posted."]
    lines = []
    for update in p.updates:
        eta = f", ETA {clock(update.eta)}" if update.eta is not None else ""
        note = f": {escape(update.note)}" if update.note.strip() else ""
        lines.append(
            f"- **{clock(update.at)}**, {escape(update.author)} ({update.kind}, "
            f"{update.status}{eta}){note}"
        )
    return lines


def _actions(p: Postmortem) -> list[str]:
    if not p.actions:
        return [f"None yet: add them with `signalbox action add {p.incident_id} TEXT`."]
    rows = (
        (
            str(action.id),
            escape(action.text),
            escape(action.owner) or "-",
            action.due.isoformat() if action.due is not None else "-",
            f"{action.status} (**overdue**)" if action.overdue else action.status,
        )
        for action in p.actions
    )
    return _table(("#", "Action", "Owner", "Due", "Status"), rows)
