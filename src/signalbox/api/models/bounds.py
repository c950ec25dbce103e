"""The ranges the API accepts, checked at the edge, before anything is read or stored.

One annotated type per kind of value, used the same way for a path parameter, a query
parameter and a body field (FastAPI and pydantic read the same bounds, and the OpenAPI
schema shows them). A value out of range is answered 422 ``invalid-input`` naming the field
(``path.deploy_id``, ``query.before``, ``duration``), never a 500 from deeper down:

- ``RowId``: a row id (deploy, incident, reservation, action, delivery, event) or a cursor
  of one, from 1 to 2^31-1: the ids are INTEGER columns, 32-bit on PostgreSQL (64-bit on
  SQLite), and PostgreSQL refuses to compare a larger value with one ("integer out of
  range"); the same bound on both keeps the API the same whatever the database.
- ``Counter``: a version or fencing token (INTEGER columns too), from 0 to 2^31-1.
- ``ExitCode``: a command's exit code, a 32-bit signed integer.
- ``StateSerial``: a Terraform state's serial, from 0 to 2^63-1 (a BIGINT column).
- ``Instant``: a date and time with an offset, in ``HORIZON`` (years 2000 to 2099).
- ``WhenText``: a time as people type it (``15:30``, ``2026-11-26 15:30``, ISO 8601); a
  written date must lie in ``HORIZON``. The rest of the checks stay in ``core.times``.
- ``read_duration``: a duration field read by a route; ``invalid-duration`` naming the field
  when it is not one (or is longer than any duration signalbox reads). How long each may be
  stays the rule's (``core.holds.MAX_HOLD`` for a hold, 14 days; a postmortem's look-back,
  7 days; an incident's ETA, 14 days), answered 422 with the field named there.

``HORIZON``: signalbox plans deploys, holds and reservations for the coming weeks; a date
before 2000 or after 2099 is a typo, and refusing it keeps every later calculation (a
window's end plus a deploy's expected duration, a time shown in a zone) inside what Python's
datetime can hold (year 9999).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from signalbox.core.durations import parse_duration
from signalbox.core.errors import InvalidDuration

__all__ = [
    "HORIZON",
    "MAX_DEPLOY_SECONDS",
    "MAX_ROW_ID",
    "MAX_SERIAL",
    "Counter",
    "ExitCode",
    "Instant",
    "RowId",
    "StateSerial",
    "WhenText",
    "read_duration",
]

MAX_ROW_ID = 2**31 - 1
"""The largest INTEGER of PostgreSQL: the largest id, version or fencing token."""
MAX_SERIAL = 2**63 - 1
"""The largest BIGINT: the largest serial of a Terraform state."""

MAX_DEPLOY_SECONDS = 366 * 86400.0
"""The longest a deploy may say it ran (a year): longer is a clock or a unit gone wrong."""

HORIZON = (2000, 2099)
"""The first and last year a date may name."""

RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
Counter = Annotated[int, Ge(0), Le(MAX_ROW_ID)]
ExitCode = Annotated[int, Ge(-(2**31)), Le(2**31 - 1)]
StateSerial = Annotated[int, Ge(0), Le(MAX_SERIAL)]

_WRITTEN_YEAR = re.compile(r"^\s*(\d+)-")


def _horizon_error(year: int) -> PydanticCustomError:
    first, last = HORIZON
    return PydanticCustomError(
        "date_out_of_range",
        "the year {year} is outside {first}..{last}: give a date from {first} to {last}",
        {"year": year, "first": first, "last": last},
    )


def _instant_in_horizon(value: datetime) -> datetime:
    if not HORIZON[0] <= value.year <= HORIZON[1]:
        raise _horizon_error(value.year)
    return value


def _written_date_in_horizon(text: str) -> str:
    written = _WRITTEN_YEAR.match(text)
    if written is not None:
        year = int(written[1]) if len(written[1]) <= 6 else 10**6
        if not HORIZON[0] <= year <= HORIZON[1]:
            raise _horizon_error(year)
    return text


def read_duration(text: str, *, field: str) -> timedelta:
    """``text`` as a duration (``core.durations``), or ``InvalidDuration`` naming ``field``.
    How long a duration may be is the rule's own (a hold's ``MAX_HOLD``, a postmortem's
    ``MAX_SINCE``), checked where the rule is, with the field named there too."""
    try:
        return parse_duration(text)
    except InvalidDuration as error:
        error.details.setdefault("field", field)
        raise
    except (OverflowError, ValueError):  # more days than a timedelta holds
        raise InvalidDuration(
            f"{text.strip()[:40]!r} is far longer than any duration signalbox reads.",
            hint="Use a duration such as 30m, 4h or 2d.",
            field=field,
        ) from None


Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_horizon)]
WhenText = Annotated[str, AfterValidator(_written_date_in_horizon)]
