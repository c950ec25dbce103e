"""The event catalogue: every kind declared once, documented in one line, told in words that
never print a missing value, and read back from its stored data; an undeclared kind is
refused before anything is written.

Samples are built from each kind's field types, so a new kind is tested as soon as it is in
CATALOGUE (teach ``sample`` and ``values`` a new field type when one appears). Times are told
against a fixed ``now`` (the injected clock), never the machine's.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.services.conftest import engine, settings  # noqa: F401  (fixtures)

from signalbox.core import events as catalogue
from signalbox.core.errors import SignalboxError
from signalbox.core.events import (
    CATALOGUE,
    KINDS,
    SCHEMA_VERSION,
    EnvironmentAdded,
    Event,
    Telling,
    UndeclaredEvent,
    declared,
    parse,
    to_data,
)
from signalbox.services.events import emit, list_events
from signalbox.storage.tables import EnvironmentRow, EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the injected clock: 10:00 in Berlin
MOMENT = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # a time the same day, 15:30 CET
SRC = Path(__file__).resolve().parents[2] / "src" / "signalbox"


def kind_id(cls: type[Event]) -> str:
    return cls.kind


def field_types(cls: type[Event]) -> dict[str, Any]:
    """name -> the resolved type of each field (the annotations are strings in core/events)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _optional(tp: Any) -> tuple[bool, Any]:
    """(whether ``tp`` admits None, ``tp`` without None)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        assert len(rest) == 1, f"{tp}: one type or None, please"
        return type(None) in typing.get_args(tp), rest[0]
    return False, tp


def sample(tp: Any, *, filled: bool) -> Any:
    """A plain value of type ``tp``: optional fields None unless ``filled``."""
    optional, tp = _optional(tp)
    if optional and not filled:
        return None
    if typing.get_origin(tp) is tuple:
        return (sample(typing.get_args(tp)[0], filled=filled),)
    plain = {str: "x", int: 1, float: 1.5, bool: filled, datetime: MOMENT}
    assert tp in plain, f"no sample for a field of type {tp}: teach sample() this type"
    return plain[tp]


def sample_event(cls: type[Event], *, filled: bool) -> Event:
    fields = {name: sample(tp, filled=filled) for name, tp in field_types(cls).items()}
    return cls(**fields)


def values(tp: Any) -> st.SearchStrategy[Any]:
    """Every value a field of type ``tp`` may hold, as hypothesis draws them."""
    optional, tp = _optional(tp)
    if typing.get_origin(tp) is tuple:
        item = values(typing.get_args(tp)[0])
        strategy: st.SearchStrategy[Any] = st.lists(item, max_size=4).map(tuple)
    else:
        plain: dict[Any, st.SearchStrategy[Any]] = {
            str: st.text(max_size=64),
            int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
            float: st.floats(allow_nan=False, allow_infinity=False),
            bool: st.booleans(),
            datetime: st.datetimes(
                min_value=datetime(1970, 1, 1),
                max_value=datetime(2200, 1, 1),
                timezones=st.just(UTC),
            ),
        }
        assert tp in plain, f"no strategy for a field of type {tp}: teach values() this type"
        strategy = plain[tp]
    return st.one_of(st.none(), strategy) if optional else strategy


def any_event() -> st.SearchStrategy[Event]:
    def build(cls: type[Event]) -> st.SearchStrategy[Event]:
        return st.builds(cls, **{name: values(tp) for name, tp in field_types(cls).items()})

    return st.sampled_from(CATALOGUE).flatmap(build)


# -- the catalogue itself --------------------------------------------------------------------


def test_every_kind_is_declared_once_with_a_dotted_name():
    kinds = [cls.kind for cls in CATALOGUE]
    assert len(kinds) == len(set(kinds)), sorted(k for k in kinds if kinds.count(k) > 1)
    assert len(CATALOGUE) == len(set(CATALOGUE))
    for kind in kinds:
        assert re.fullmatch(r"[a-z]+(\.[a-z]+(-[a-z]+)*)+", kind), kind
    assert {kind: KINDS[kind] for kind in kinds} == dict(zip(kinds, CATALOGUE, strict=True))


def test_every_record_class_in_core_events_is_in_the_catalogue():
    """A kind declared in core/events.py but forgotten in CATALOGUE would be refused by emit."""
    records = {
        value
        for value in vars(catalogue).values()
        if isinstance(value, type) and issubclass(value, Event) and value.kind
    }
    assert records - set(CATALOGUE) == set()


@pytest.mark.parametrize("cls", CATALOGUE, ids=kind_id)
def test_every_kind_is_documented_in_one_line(cls):
    doc = cls.__dict__.get("__doc__") or ""
    assert doc and not doc.startswith(f"{cls.__name__}("), f"{cls.__name__} has no docstring"
    summary = doc.strip().split("\n\n")[0]
    assert "\n" not in summary, (
        f"{cls.__name__}: the first line of the docstring is the kind's one line of documentation"
        " (docs/events.md): make it the whole summary, then a blank line"
    )
    assert summary.endswith("."), summary


@pytest.mark.parametrize("cls", CATALOGUE, ids=kind_id)
def test_no_kind_has_a_field_called_kind_or_a_secret(cls):
    names = set(field_types(cls))
    assert "kind" not in names
    assert not names & {"token", "secret", "password", "body", "plan"}, names


# -- words -----------------------------------------------------------------------------------


@pytest.mark.parametrize("filled", [False, True], ids=["optional-empty", "optional-filled"])
@pytest.mark.parametrize("environment", ["dev", None], ids=["in-dev", "global"])
@pytest.mark.parametrize("cls", CATALOGUE, ids=kind_id)
def test_words_render_a_sentence_without_a_missing_value(cls, environment, filled):
    event = sample_event(cls, filled=filled)
    telling = Telling(
        actor="platform-eng", environment=environment, timezone="Europe/Berlin", now=NOW
    )
    words = event.words(telling)
    assert isinstance(words, str) and words.strip(), cls.kind
    assert "?" not in words and "None" not in words, f"{cls.kind}: {words!r}"


def test_times_are_told_in_the_environments_zone_against_the_injected_clock():
    telling = Telling(actor="coo", environment="dev", timezone="Europe/Berlin", now=NOW)
    assert telling.time(MOMENT) == "15:30 CET"
    assert telling.time(MOMENT + timedelta(days=1)) == "Sat 28 Nov 15:30 CET"
    next_day = Telling(
        actor="coo", environment="dev", timezone="Europe/Berlin", now=NOW + timedelta(days=1)
    )
    assert next_day.time(MOMENT) == "Fri 27 Nov 15:30 CET"
    assert telling.span(timedelta(hours=4)) == "4h"


def test_a_global_event_is_told_as_signalbox():
    telling = Telling(actor="admin", environment=None, timezone="UTC", now=NOW)
    assert EnvironmentAdded().words(telling) == "signalbox is now managed by signalbox."
    assert telling.env == "signalbox"


def test_a_cancelled_reservation_names_what_it_was_for_not_why_it_was_cancelled():
    telling = Telling(actor="platform-eng", environment="dev", timezone="Europe/Berlin", now=NOW)
    cancelled = catalogue.ReservationCancelled(
        reservation_id=3,
        owner="coo",
        reason="investor demo",
        starts=MOMENT,
        ends=MOMENT + timedelta(hours=1),
    )
    assert cancelled.words(telling) == (
        "platform-eng cancelled coo's reservation 3 of dev (investor demo, 15:30 CET to 16:30 CET)."
    )


# -- stored data -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CATALOGUE, ids=kind_id)
def test_every_kind_reads_back_from_its_stored_data(cls):
    for filled in (False, True):
        event = sample_event(cls, filled=filled)
        stored = json.loads(json.dumps(to_data(event)))
        assert parse(cls.kind, stored) == event


@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])  # 50 kinds with up to 12 fields
@given(any_event())
def test_any_field_values_read_back_from_json(event):
    stored = json.loads(json.dumps(to_data(event)))
    assert parse(type(event).kind, stored) == event


def test_parse_answers_none_for_an_unknown_kind_or_data_that_does_not_fit():
    assert parse("no.such-kind", {}) is None
    assert parse("reservation.created", {"reservation_id": "not a number"}) is None


# -- undeclared kinds ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Unlisted(Event):
    """A kind that nobody added to CATALOGUE."""

    kind: ClassVar[str] = "test.unlisted"
    note: str = ""

    def words(self, telling: Telling) -> str:
        return f"{telling.actor} did something undeclared."


@dataclass(frozen=True, slots=True, kw_only=True)
class LookAlike(EnvironmentAdded):
    """A subclass of a declared kind, with the same kind string: still not declared."""


@pytest.mark.parametrize(
    "record", [Unlisted(note="x"), LookAlike()], ids=["unlisted", "look-alike"]
)
def test_declared_refuses_a_record_not_in_the_catalogue(record):
    with pytest.raises(UndeclaredEvent) as raised:
        declared(record)
    assert raised.value.code == "event-undeclared" and raised.value.hint
    assert isinstance(raised.value, SignalboxError)
    with pytest.raises(UndeclaredEvent):
        to_data(record)
    assert declared(EnvironmentAdded()) is EnvironmentAdded


def _events_and_version(engine) -> tuple[int, int]:  # noqa: F811
    with UnitOfWork(engine, read_only=True) as uow:
        count = uow.session.scalar(select(func.count()).select_from(EventRow))
        version = uow.session.get_one(EnvironmentRow, "dev").version
    return int(count or 0), version


@pytest.mark.parametrize(
    "record", [Unlisted(note="x"), LookAlike()], ids=["unlisted", "look-alike"]
)
def test_emit_refuses_an_undeclared_record_and_writes_nothing(engine, clock, record):  # noqa: F811
    before = _events_and_version(engine)
    with pytest.raises(UndeclaredEvent), UnitOfWork(engine) as uow:
        emit(uow, record, environment="dev", actor="platform-eng", now=clock.now())
    assert _events_and_version(engine) == before


def test_emit_stores_a_declared_record_ready_for_the_outbox(engine, clock):  # noqa: F811
    count, version = _events_and_version(engine)
    with UnitOfWork(engine) as uow:
        emit(uow, EnvironmentAdded(), environment="dev", actor="admin", now=clock.now())
    assert _events_and_version(engine) == (count + 1, version + 1)
    with UnitOfWork(engine, read_only=True) as uow:
        row = uow.session.scalars(select(EventRow).order_by(EventRow.id.desc()).limit(1)).one()
        stored = (row.kind, row.message, row.data, row.schema_version, row.fanned_out_at)
    assert stored == (
        "environment.added",
        "dev is now managed by signalbox.",
        {},
        SCHEMA_VERSION,
        None,
    )


def test_an_event_from_before_the_catalogue_is_shown_as_it_was_stored(engine, clock):  # noqa: F811
    """Its data has older shapes (a state was ``dev/network``): told again from a record, it
    would read ``dev/dev/network``."""
    stored = "platform-eng locked dev/network for OperationTypeApply (unknown host)."
    with UnitOfWork(engine) as uow:
        uow.events.add(
            environment="dev",
            at=clock.now(),
            actor="platform-eng",
            kind="state.locked",
            message=stored,
            data={"state": "dev/network", "lock_id": "1", "operation": "OperationTypeApply"},
        )
        emit(uow, EnvironmentAdded(), environment="dev", actor="admin", now=clock.now())
    told = list_events(engine, environment="dev", limit=2, now=clock.now())
    assert [event.message for event in told] == ["dev is now managed by signalbox.", stored]


# -- emitters --------------------------------------------------------------------------------

EMITTERS = {"record_event", "emit"}
ALLOWED = {SRC / "core" / "events.py", SRC / "services" / "events.py"}


def kinds_written_as_literals() -> list[str]:
    """``path:line kind`` of every call to record_event/emit with ``kind="..."``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in EMITTERS:
                continue
            for keyword in node.keywords:
                if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno} {keyword.value.value}")
    return found


def test_the_scan_finds_a_kind_written_as_a_literal(tmp_path, monkeypatch):
    """The scan below would pass vacuously if it could not see a literal kind."""
    (tmp_path / "service.py").write_text(
        'record_event(uow, kind="hold.granted", message="m")\nuow.emit(kind="x.y")\n'
    )
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    assert kinds_written_as_literals() == ["service.py:1 hold.granted", "service.py:2 x.y"]


def test_no_module_emits_a_kind_as_a_string_literal():
    assert kinds_written_as_literals() == []


def test_a_kind_without_words_cannot_be_made():
    from dataclasses import dataclass
    from typing import ClassVar

    from signalbox.core.events import Event

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Silent(Event):
        kind: ClassVar[str] = "test.silent"

    with pytest.raises(TypeError, match="words"):
        Silent()
