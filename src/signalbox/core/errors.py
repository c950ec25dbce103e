"""The one error tree of signalbox. Every error has a stable ``code``.

Adapters translate errors in exactly one place each: the API maps ``code`` to an HTTP
status (``signalbox.api.problems``), the CLI maps it to a one-line message and an exit
code (``signalbox.cli.exit_codes``). A refusal (held, reserved, frozen, ...) is *not* an
error: it is a normal answer (a ``Denied`` value), see ``signalbox.core.holds``.

    SignalboxError                      base; ``code``, ``message``, ``hint``
    ├── UsageError              usage               bad flags or arguments
    ├── InvalidInput            invalid-input       a value that cannot be understood
    │   ├── InvalidDuration     invalid-duration    "4x" instead of "4h"
    │   ├── StateBodyInvalid    state-body-invalid  a state write whose body is damaged or no state
    │   ├── InvalidTime         invalid-time        "25:99" instead of "15:30"
    │   └── InvalidWindow       invalid-window      a window that ends before it starts
    ├── ConfigError             config-invalid      signalbox.toml cannot be used
    │   ├── PolicyError         policy-invalid      its policy section cannot be used
    │   └── StateKeyUnknown     state-key-unknown   a state encrypted with a key not configured
    ├── PlanError               plan-error          base of plan reading errors
    │   ├── PlanUnreadable      plan-unreadable     not JSON / truncated (with position)
    │   ├── PlanFormatUnsupported plan-format-unsupported  format_version major >= 2
    │   ├── PlanNotJson         plan-binary         a binary plan file and no terraform
    │   └── PlanTooLarge        plan-too-large      bigger than the configured limit
    ├── NotFound                not-found
    │   ├── UnknownEnvironment  unknown-environment
    │   ├── UnknownDeploy       unknown-deploy
    │   ├── UnknownState        unknown-state       no such Terraform state (or serial)
    │   ├── UnknownIncident     unknown-incident    no such incident number
    │   ├── UnknownAction       unknown-action      no such follow-up action
    │   ├── UnknownTarget       unknown-target      no notification target of that name
    │   └── UnknownDelivery     unknown-delivery    no such notification delivery
    ├── AuthError               auth
    │   ├── Unauthenticated     unauthenticated     no or wrong token
    │   ├── Forbidden           forbidden           token lacks the grant (names it)
    │   └── FormRefused         form-refused        a web form without its session's form
    │                                               token, or sent from another site (CSRF)
    ├── Conflict                conflict
    │   ├── NotHolder           not-holder          release/renew by someone who does not hold
    │   ├── StaleFencingToken   stale-fencing-token the token is not the current one
    │   ├── InvalidTransition   invalid-transition  e.g. approving a finished deploy
    │   ├── StateRefused        state-refused       a state write/unlock/restore refused (why)
    │   │   └── StateLocked     state-locked        ... because of a hold or a Terraform lock (423)
    │   ├── IncidentAlreadyOpen incident-open       the environment already has an open incident
    │   ├── DeliverySending     delivery-sending    retrying a message that is being sent now
    │   └── Held                held                (API/client side) a hold was refused:
    │                                               the core's ``Denied`` as an HTTP answer
    ├── PayloadTooLarge         payload-too-large
    ├── StateIntegrityError     state-integrity     a stored state body was changed or cut
    ├── UndeclaredEvent         event-undeclared    an event kind not in the catalogue (a bug)
    └── ServerUnreachable       server-unreachable  (client side) no answer from the server
        └── BadServerResponse   bad-server-response (client side) an answer we cannot read

Messages say what happened and why; ``hint`` says what to do next.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BadServerResponse",
    "ConfigError",
    "Conflict",
    "DeliverySending",
    "Forbidden",
    "FormRefused",
    "Held",
    "IncidentAlreadyOpen",
    "InvalidDuration",
    "InvalidInput",
    "InvalidTime",
    "InvalidTransition",
    "InvalidWindow",
    "NotFound",
    "NotHolder",
    "PayloadTooLarge",
    "PlanError",
    "PlanFormatUnsupported",
    "PlanNotJson",
    "PlanTooLarge",
    "PlanUnreadable",
    "PolicyError",
    "ServerUnreachable",
    "SignalboxError",
    "StaleFencingToken",
    "StateBodyInvalid",
    "StateIntegrityError",
    "StateKeyUnknown",
    "StateLocked",
    "StateRefused",
    "Unauthenticated",
    "UndeclaredEvent",
    "UnknownAction",
    "UnknownDelivery",
    "UnknownDeploy",
    "UnknownEnvironment",
    "UnknownIncident",
    "UnknownState",
    "UnknownTarget",
    "UsageError",
    "all_error_classes",
    "unknown_environment",
]


class SignalboxError(Exception):
    """Base of every signalbox error. ``code`` is stable and documented."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, hint: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class UsageError(SignalboxError):
    code = "usage"


class InvalidInput(SignalboxError):
    code = "invalid-input"


class InvalidDuration(InvalidInput):
    code = "invalid-duration"


class StateBodyInvalid(InvalidInput):
    code = "state-body-invalid"


class InvalidTime(InvalidInput):
    code = "invalid-time"


class InvalidWindow(InvalidInput):
    code = "invalid-window"


class ConfigError(SignalboxError):
    code = "config-invalid"


class PolicyError(ConfigError):
    code = "policy-invalid"


class StateKeyUnknown(ConfigError):
    code = "state-key-unknown"


class PlanError(SignalboxError):
    code = "plan-error"


class PlanUnreadable(PlanError):
    code = "plan-unreadable"


class PlanFormatUnsupported(PlanError):
    code = "plan-format-unsupported"


class PlanNotJson(PlanError):
    code = "plan-binary"


class PlanTooLarge(PlanError):
    code = "plan-too-large"


class NotFound(SignalboxError):
    code = "not-found"


class UnknownEnvironment(NotFound):
    code = "unknown-environment"


def unknown_environment(name: str, known: list[str]) -> UnknownEnvironment:
    """The error for an environment ``name`` that is not configured, listing ``known``."""
    listed = ", ".join(known) or "(none configured)"
    return UnknownEnvironment(
        f"There is no environment {name!r}. Known environments: {listed}.",
        hint="Check the name, or add [environments.NAME] to signalbox.toml and restart.",
        environment=name,
        known=known,
    )


class UnknownDeploy(NotFound):
    code = "unknown-deploy"


class UnknownState(NotFound):
    code = "unknown-state"


class UnknownIncident(NotFound):
    code = "unknown-incident"


class UnknownAction(NotFound):
    code = "unknown-action"


class UnknownTarget(NotFound):
    code = "unknown-target"


class UnknownDelivery(NotFound):
    code = "unknown-delivery"


class AuthError(SignalboxError):
    code = "auth"


class Unauthenticated(AuthError):
    code = "unauthenticated"


class Forbidden(AuthError):
    code = "forbidden"


class FormRefused(AuthError):
    code = "form-refused"


class Conflict(SignalboxError):
    code = "conflict"


class NotHolder(Conflict):
    code = "not-holder"


class StaleFencingToken(Conflict):
    code = "stale-fencing-token"


class InvalidTransition(Conflict):
    code = "invalid-transition"


class StateRefused(Conflict):
    code = "state-refused"


class StateLocked(StateRefused):
    code = "state-locked"


class DeliverySending(Conflict):
    code = "delivery-sending"


class IncidentAlreadyOpen(Conflict):
    code = "incident-open"


class Held(Conflict):
    """A hold was refused because someone else holds the environment.

    The core returns ``Denied`` (a value); the API answers it as a 409 problem with this code
    and the holder's fields, and the client raises it so the CLI exits 75 in one place.
    """

    code = "held"


class PayloadTooLarge(SignalboxError):
    code = "payload-too-large"


class StateIntegrityError(SignalboxError):
    code = "state-integrity"


class UndeclaredEvent(SignalboxError):
    """A service emitted an event whose kind is not in the catalogue (a programming error)."""

    code = "event-undeclared"


class ServerUnreachable(SignalboxError):
    code = "server-unreachable"


class BadServerResponse(ServerUnreachable):
    code = "bad-server-response"


def all_error_classes() -> list[type[SignalboxError]]:
    """Every error class, base first; used by the adapters' mapping tests and the docs."""
    found: list[type[SignalboxError]] = []
    pending: list[type[SignalboxError]] = [SignalboxError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
