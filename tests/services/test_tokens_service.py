"""Tokens: shown once, stored hashed, authenticated, revoked, and the bootstrap admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signalbox.core.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from signalbox.core.roles import Action
from signalbox.services.events import list_events
from signalbox.services.tokens import (
    BOOTSTRAP_NAME,
    authenticate,
    create_token,
    hash_secret,
    register_bootstrap_token,
    revoke_token,
)
from signalbox.storage import UnitOfWork
from signalbox.storage.tables import TokenRow


def test_created_token_authenticates_with_its_grants_and_is_stored_hashed(engine, clock):
    secret, info = create_token(
        engine,
        name="ci-dev",
        grants=["developer:dev"],
        is_ci=True,
        created_by="root",
        now=clock.now(),
    )
    assert secret.startswith("sbx_") and len(secret) >= 40
    caller = authenticate(engine, secret, now=clock.now())
    assert caller.principal.name == "ci-dev" and caller.principal.is_ci
    assert caller.may(Action.DEPLOY, "dev") and not caller.may(Action.DEPLOY, "prod")
    with UnitOfWork(engine, read_only=True) as uow:
        [row] = uow.session.scalars(select(TokenRow)).all()
        assert row.secret_hash == hash_secret(secret) and secret not in str(row.grants)
    [event] = list_events(engine, limit=1)
    assert event.kind == "token.created" and secret not in event.message + str(event.data)
    assert event.message == "root created the token ci-dev (CI: developer:dev)."
    assert event.data == {"name": "ci-dev", "grants": ["developer:dev"], "is_ci": True}
    assert info.grants == ("developer:dev",)


def test_wrong_or_revoked_tokens_are_unauthenticated(engine, clock):
    secret, _ = create_token(
        engine,
        name="coo",
        grants=["stakeholder:dev"],
        is_ci=False,
        created_by="root",
        now=clock.now(),
    )
    with pytest.raises(Unauthenticated):
        authenticate(engine, secret + "x", now=clock.now())
    revoke_token(engine, name="coo", revoked_by="root", now=clock.now())
    with pytest.raises(Unauthenticated):
        authenticate(engine, secret, now=clock.now())
    [event] = list_events(engine, limit=1)
    assert (event.kind, event.message) == ("token.revoked", "root revoked the token coo.")


@pytest.mark.parametrize(
    ("name", "grants", "error"),
    [
        ("bad name", ["developer:dev"], InvalidInput),
        ("ok", [], InvalidInput),
        ("ok", ["developer"], InvalidInput),
        ("ok", ["developer:staging"], InvalidInput),  # UnknownEnvironment is a NotFound
    ],
)
def test_bad_token_requests(engine, clock, name, grants, error):
    from signalbox.core.errors import UnknownEnvironment

    expected = UnknownEnvironment if grants == ["developer:staging"] else error
    with pytest.raises(expected):
        create_token(
            engine, name=name, grants=grants, is_ci=False, created_by="root", now=clock.now()
        )


def test_duplicate_name_is_a_conflict(engine, clock):
    create_token(
        engine, name="x", grants=["viewer:*"], is_ci=False, created_by="r", now=clock.now()
    )
    with pytest.raises(Conflict):
        create_token(
            engine, name="x", grants=["viewer:*"], is_ci=False, created_by="r", now=clock.now()
        )


def test_bootstrap_token_is_admin_everywhere_replaced_and_revoked_when_unset(engine, clock):
    register_bootstrap_token(engine, "first-secret", now=clock.now())
    caller = authenticate(engine, "first-secret", now=clock.now())
    assert caller.principal.name == BOOTSTRAP_NAME
    assert caller.may(Action.MANAGE_TOKENS, None) and caller.may(Action.FORCE_RELEASE, "prod")
    register_bootstrap_token(engine, "second-secret", now=clock.now())
    with pytest.raises(Unauthenticated):
        authenticate(engine, "first-secret", now=clock.now())
    authenticate(engine, "second-secret", now=clock.now())
    register_bootstrap_token(engine, "", now=clock.now())
    with pytest.raises(Unauthenticated):
        authenticate(engine, "second-secret", now=clock.now())
    assert [event.message for event in list_events(engine, limit=3)] == [
        "signalbox revoked the token bootstrap-admin: SIGNALBOX_ADMIN_TOKEN is unset.",
        "The bootstrap admin token bootstrap-admin was registered from SIGNALBOX_ADMIN_TOKEN.",
        "The bootstrap admin token bootstrap-admin was registered from SIGNALBOX_ADMIN_TOKEN.",
    ]


def test_require_names_the_missing_grant(engine, clock):
    secret, _ = create_token(
        engine,
        name="coo",
        grants=["stakeholder:dev"],
        is_ci=False,
        created_by="root",
        now=clock.now(),
    )
    caller = authenticate(engine, secret, now=clock.now())
    caller.require(Action.RESERVE, "dev")
    with pytest.raises(Forbidden) as raised:
        caller.require(Action.HOLD, "dev")
    assert "developer:dev or admin:dev" in raised.value.message


def _last_used(engine, secret):
    with UnitOfWork(engine, read_only=True) as uow:
        return uow.tokens.by_hash(hash_secret(secret)).last_used_at


def test_last_used_is_written_only_once_it_is_five_minutes_old(engine, clock):
    from datetime import timedelta

    secret, _ = create_token(
        engine,
        name="ci-dev",
        grants=["developer:dev"],
        is_ci=True,
        created_by="root",
        now=clock.now(),
    )
    first = clock.now()
    authenticate(engine, secret, now=first)
    assert _last_used(engine, secret) == first
    authenticate(engine, secret, now=clock.advance(timedelta(minutes=4)))
    assert _last_used(engine, secret) == first  # fresh enough: no write
    later = clock.advance(timedelta(minutes=2))
    authenticate(engine, secret, now=later)
    assert _last_used(engine, secret) == later
    with UnitOfWork(engine) as uow:  # a request that read the old mark writes nothing now
        uow.tokens.touch(
            hash_secret(secret), now=later + timedelta(minutes=1), unless_used_since=first
        )
    assert _last_used(engine, secret) == later


def _counting_queries(engine):
    """A list that grows by one with every statement ``engine`` runs (and its remover)."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_a_token_found_valid_is_remembered_briefly_without_a_query(engine, clock):
    from datetime import timedelta

    from signalbox.services.tokens import CALLER_CACHE_SECONDS

    secret, _ = create_token(
        engine, name="ci-dev", grants=["developer:dev"], is_ci=True, created_by="r", now=clock.now()
    )
    first = authenticate(engine, secret, now=clock.now())
    seen, stop = _counting_queries(engine)
    try:
        assert authenticate(engine, secret, now=clock.now()) == first
        assert seen == []  # remembered: no query
        clock.advance(timedelta(seconds=CALLER_CACHE_SECONDS))
        assert authenticate(engine, secret, now=clock.now()) == first
        assert seen != []  # too old: checked again
    finally:
        stop()


def test_revoking_forgets_a_remembered_token_at_once(engine, clock):
    secret, _ = create_token(
        engine, name="ci-dev", grants=["developer:dev"], is_ci=True, created_by="r", now=clock.now()
    )
    authenticate(engine, secret, now=clock.now())  # remembered now
    revoke_token(engine, name="ci-dev", revoked_by="root", now=clock.now())
    with pytest.raises(Unauthenticated):
        authenticate(engine, secret, now=clock.now())


def test_a_check_that_read_the_token_before_its_revocation_does_not_remember_it(engine, clock):
    """An authentication that read the row, then saw a revocation commit before it could
    remember the caller, must not remember it (the revocation moved the generation on)."""
    from signalbox.services import tokens

    secret, _ = create_token(
        engine, name="ci-dev", grants=["developer:dev"], is_ci=True, created_by="r", now=clock.now()
    )
    callers = tokens._callers_of(engine)
    remember = callers.remember

    def revoked_in_between(*args, **kwargs):
        revoke_token(engine, name="ci-dev", revoked_by="root", now=clock.now())
        remember(*args, **kwargs)

    callers.remember = revoked_in_between  # type: ignore[method-assign]
    try:
        authenticate(engine, secret, now=clock.now())  # read before the revocation: valid
    finally:
        callers.remember = remember  # type: ignore[method-assign]
    with pytest.raises(Unauthenticated):
        authenticate(engine, secret, now=clock.now())
