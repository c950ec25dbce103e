"""Roles: what each role may do, on which environment, and the 403 sentence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.errors import InvalidInput
from signalbox.core.roles import (
    Action,
    Grant,
    Role,
    allowed,
    missing_grant,
    parse_grant,
    parse_grants,
)

EXPECTED = {
    Role.VIEWER: {Action.READ},
    Role.STAKEHOLDER: {Action.READ, Action.RESERVE},
    Role.DEVELOPER: {
        Action.READ,
        Action.RESERVE,
        Action.HOLD,
        Action.DEPLOY,
        Action.OPEN_INCIDENT,
        Action.READ_STATE,
        Action.WRITE_STATE,
    },
    Role.APPROVER: {Action.READ, Action.APPROVE},
    Role.ADMIN: set(Action),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_exactly_its_actions(role):
    grants = [Grant(role, "dev")]
    assert {action for action in Action if allowed(grants, action, "dev")} == EXPECTED[role]


def test_the_coo_may_reserve_dev_but_not_deploy_or_hold():
    coo = parse_grants(["stakeholder:dev"])
    assert allowed(coo, Action.RESERVE, "dev")
    assert not allowed(coo, Action.DEPLOY, "dev")
    assert not allowed(coo, Action.HOLD, "dev")
    assert not allowed(coo, Action.RESERVE, "prod")


def test_star_covers_every_environment_and_global_actions():
    admin = parse_grants(["admin:*"])
    assert allowed(admin, Action.FORCE_RELEASE, "prod")
    assert allowed(admin, Action.MANAGE_TOKENS, None)
    assert not allowed(parse_grants(["admin:dev"]), Action.MANAGE_TOKENS, None)


@given(
    st.sampled_from(list(Role)),
    st.sampled_from(list(Action)),
    st.sampled_from(["dev", "prod", "staging"]),
    st.sampled_from(["dev", "prod"]),
)
def test_a_grant_on_one_environment_never_allows_another(role, action, granted, asked):
    result = allowed([Grant(role, granted)], action, asked)
    assert result == (granted == asked and action in EXPECTED[role])
    assert allowed([Grant(role, "*")], action, asked) == (action in EXPECTED[role])


@pytest.mark.parametrize("text", ["developer", "developer:", ":dev", "wizard:dev", ""])
def test_malformed_grants_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        parse_grant(text)


def test_parse_grant_round_trips():
    assert str(parse_grant("Developer:dev")) == "developer:dev"


def test_missing_grant_names_the_grants_that_would_allow_it():
    assert missing_grant(Action.HOLD, "dev") == (
        "To hold on dev a token needs the grant developer:dev or admin:dev."
    )
    assert "admin:*" in missing_grant(Action.MANAGE_TOKENS, None)
