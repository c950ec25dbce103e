"""Roles and grants: who may do what, on which environment. Pure.

A token carries grants ``ROLE:ENV``; ``ENV`` may be ``*`` (every environment).

    viewer       read
    stakeholder  read, reserve
    developer    read, reserve, hold, deploy, open-incident, read-state, write-state
    approver     read, approve
    admin        everything: also force-release, manage-tokens, restore-state,
                 manage-notifications (send again, test a target)

Actions that are not about one environment (managing tokens) need a grant on ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from signalbox.core.errors import InvalidInput

__all__ = [
    "ANY_ENVIRONMENT",
    "Action",
    "Grant",
    "Role",
    "allowed",
    "missing_grant",
    "parse_grant",
    "parse_grants",
    "roles_allowing",
]

ANY_ENVIRONMENT = "*"


class Role(StrEnum):
    VIEWER = "viewer"
    STAKEHOLDER = "stakeholder"
    DEVELOPER = "developer"
    APPROVER = "approver"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    RESERVE = "reserve"
    HOLD = "hold"
    DEPLOY = "deploy"
    OPEN_INCIDENT = "open-incident"
    APPROVE = "approve"
    READ_STATE = "read-state"
    WRITE_STATE = "write-state"
    RESTORE_STATE = "restore-state"
    FORCE_RELEASE = "force-release"
    MANAGE_TOKENS = "manage-tokens"
    MANAGE_NOTIFICATIONS = "manage-notifications"


_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.STAKEHOLDER: frozenset({Action.READ, Action.RESERVE}),
    Role.DEVELOPER: frozenset(
        {
            Action.READ,
            Action.RESERVE,
            Action.HOLD,
            Action.DEPLOY,
            Action.OPEN_INCIDENT,
            Action.READ_STATE,
            Action.WRITE_STATE,
        }
    ),
    Role.APPROVER: frozenset({Action.READ, Action.APPROVE}),
    Role.ADMIN: frozenset(Action),
}


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    environment: str  # an environment name or "*"

    def __str__(self) -> str:
        return f"{self.role}:{self.environment}"

    def covers(self, environment: str | None) -> bool:
        return self.environment == ANY_ENVIRONMENT or (
            environment is not None and self.environment == environment
        )


def parse_grant(text: str) -> Grant:
    """``"developer:dev"`` -> Grant; anything else is InvalidInput saying what is expected."""
    role_text, separator, environment = text.strip().partition(":")
    roles = ", ".join(role.value for role in Role)
    if not separator or not environment or not role_text:
        raise InvalidInput(
            f"{text!r} is not a grant.",
            hint=f"Write ROLE:ENV, such as developer:dev or viewer:*; roles: {roles}.",
            field="grant",
        )
    try:
        role = Role(role_text.lower())
    except ValueError:
        raise InvalidInput(
            f"{role_text!r} is not a role.", hint=f"Roles: {roles}.", field="grant"
        ) from None
    return Grant(role=role, environment=environment)


def parse_grants(texts: Iterable[str]) -> tuple[Grant, ...]:
    return tuple(parse_grant(text) for text in texts)


def allowed(grants: Iterable[Grant], action: Action, environment: str | None) -> bool:
    """May a holder of ``grants`` do ``action`` on ``environment`` (None: not about one)?"""
    return any(action in _ACTIONS[grant.role] and grant.covers(environment) for grant in grants)


def roles_allowing(action: Action) -> list[Role]:
    return [role for role in Role if action in _ACTIONS[role]]


def missing_grant(action: Action, environment: str | None) -> str:
    """A sentence for a 403: which grant would allow ``action``."""
    target = environment or ANY_ENVIRONMENT
    options = " or ".join(f"{role}:{target}" for role in roles_allowing(action))
    where = f"on {environment}" if environment else "(on every environment)"
    return f"To {action} {where} a token needs the grant {options}."
