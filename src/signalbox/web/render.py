"""The Jinja2 environment of the pages and what every template can use.

``page(request, "board.html", viewer=..., title=..., **context)`` renders a template into an
HTML answer. Every template gets ``viewer`` (``web.security.Viewer``), ``form_token`` (put it
in every form: ``{{ csrf_field() }}``), ``now`` (UTC), ``static(path)`` and the filters:

    {{ moment | when(tz) }}      <time> in the environment's zone ("15:30 CET", with the day
                                 when it is not today); the UTC instant in ``datetime`` and a
                                 title that ``static/signalbox.js`` turns into the viewer's
                                 local time on hover
    {{ moment | ago }}           "4 min ago", "in 2 h"
    {{ seconds | duration }}     "17 min", "1 h 5 min"
    {{ picture | state_label }}  the state in words: Free, Held, Deploying, Incident ...
    {{ text | code_spans }}      a finding's sentence with its `backticked` words as <code>

Autoescape is on: every value from a user (reasons, titles, names) is escaped.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from signalbox import __version__
from signalbox.api.context import server_of
from signalbox.api.problems import status_for
from signalbox.core.errors import SignalboxError
from signalbox.core.status import EnvironmentPicture, EnvironmentState
from signalbox.core.times import format_local, format_utc, require_utc
from signalbox.web.security import FORM_FIELD, Viewer

__all__ = [
    "PAGE_HEADERS",
    "STATE_LABELS",
    "ago",
    "duration",
    "page",
    "pages",
    "render",
    "state_class",
    "state_label",
    "when",
    "when_tag",
]

STATE_LABELS: dict[str, str] = {
    EnvironmentState.FREE: "Free",
    EnvironmentState.HELD: "Held",
    EnvironmentState.DEPLOYING: "Deploying",
    EnvironmentState.QUEUED: "Queued",
    EnvironmentState.RESERVED_NOW: "Reserved",
    EnvironmentState.RESERVED_SOON: "Reserved soon",
    EnvironmentState.FROZEN: "Frozen",
    "incident": "Incident",
}
"""Each state in words (the colour of a card only repeats them)."""


PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    # only signalbox's own scripts, styles and images; no frame may show a page (no
    # clickjacking of an Approve button); forms post only to signalbox
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""Headers of every page and fragment."""


def _shown_state(found: EnvironmentPicture) -> str:
    """The picture's state as the pages tell it: a freeze by an open incident is
    "incident"."""
    if found.state is EnvironmentState.FROZEN and found.incident is not None:
        return "incident"
    return str(found.state)


def state_label(found: EnvironmentPicture) -> str:
    """The state in words: Free, Held, ..., Incident."""
    shown = _shown_state(found)
    return STATE_LABELS.get(shown, shown.replace("-", " ").capitalize())


def state_class(found: EnvironmentPicture) -> str:
    """The CSS class of the state's colour."""
    return f"state-{_shown_state(found)}"


def when_tag(value: datetime | None, timezone: str, now: datetime) -> Markup:
    if value is None:
        return Markup("")
    value = require_utc(value)
    shown = format_local(value, timezone, now=now)
    iso = value.isoformat().replace("+00:00", "Z")
    title = f"{format_utc(value)} (UTC)"
    # made of our own formats (digits, letters, a zone's abbreviation), escaped all the same;
    # one f-string costs a tenth of Markup.format, and the board has four of these a card
    return Markup(f'<time datetime="{iso}" title="{title}">{escape(shown)}</time>')


@pass_context
def when(context: Context, value: datetime | None, timezone: str = "UTC") -> Markup:
    return when_tag(value, timezone, context["now"])


_BACKTICKED = re.compile(r"`([^`\n]+)`")


def code_spans(text: str) -> Markup:
    """``text`` escaped, its ```backticked``` words (a finding's ``moved`` or
    ``terraform untaint``) as ``<code>``: the sentences are written for terminals and
    Markdown, where backticks mark code."""
    return Markup(_BACKTICKED.sub(r"<code>\1</code>", str(escape(text))))


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


@pass_context
def ago(context: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    delta = (require_utc(value) - context["now"]).total_seconds()
    if abs(delta) < 30:
        return "just now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def duration(value: float | timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return _span(seconds)


@functools.cache
def pages() -> Environment:
    """The pages' Jinja2 environment (templates in ``signalbox/web/templates``), built once."""
    environment = Environment(
        loader=PackageLoader("signalbox.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        when=when,
        ago=ago,
        duration=duration,
        state_label=state_label,
        state_class=state_class,
        code_spans=code_spans,
    )
    environment.globals["version"] = __version__
    environment.globals["static"] = lambda path: f"/static/{path}?v={__version__}"
    return environment


def _csrf_field(form_token: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FORM_FIELD, form_token)


def page(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    title: str,
    status: int | None = None,
    problem: SignalboxError | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered for ``viewer`` as an HTML answer (``title`` names the page).
    With a ``problem`` (a refused form, shown on the page), the status is the error's from
    ``api.problems``' one table unless ``status`` says otherwise; else 200."""
    if status is None:
        status = status_for(problem) if problem is not None else 200
    form_token = viewer.form_token if viewer is not None else ""
    html = render(
        template,
        request=request,
        viewer=viewer,
        title=title,
        form_token=form_token,
        csrf_field=lambda: _csrf_field(form_token),
        now=server_of(request).now(),
        problem=problem,
        **context,
    )
    answer_headers = {**PAGE_HEADERS, **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=answer_headers)


def render(template: str, **context: Any) -> str:
    """``template`` rendered with ``context`` (a fragment, or a whole page through
    ``page``)."""
    return pages().get_template(template).render(**context)
