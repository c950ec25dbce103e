"""Policy: which verdict each finding gets in an environment, and which addresses are protected.

Read from ``signalbox.toml`` (already parsed by the caller)::

    [policy]                        # every environment
    probable-rename = "needs-approval"
    protected = ["aws_cognito_user_pool.main"]

    [environments.prod.policy]      # this environment: overrides verdicts, adds protected
    stateful-destroy = "blocked"
    protected = ["module.db.*"]

Without a file, the defaults of :data:`~signalbox.core.plan.findings.FINDING_KINDS` apply:
destroying or replacing a stateful resource needs approval, everything else is routine
(except the few ids whose default says otherwise, see docs/plan-analysis.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signalbox.core.errors import PolicyError
from signalbox.core.plan.addresses import address_matches
from signalbox.core.plan.findings import FINDING_KINDS, Verdict

__all__ = ["PROTECTED_KEY", "Policy", "parse_policy"]

PROTECTED_KEY = "protected"
_VALID_VERDICTS = ", ".join(f'"{verdict.value}"' for verdict in Verdict)


@dataclass(frozen=True, slots=True)
class Policy:
    """The verdict overrides and protected addresses in force for one environment."""

    environment: str = ""
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    protected: tuple[str, ...] = ()

    def verdict_for(self, finding_id: str) -> Verdict:
        """The verdict of a finding id: the policy's override, else the id's default."""
        override = self.verdicts.get(finding_id)
        return override if override is not None else FINDING_KINDS[finding_id].verdict

    def protecting_pattern(self, address: str) -> str | None:
        """The ``protected`` entry that covers ``address`` (exact or ``prefix*``), if any."""
        for pattern in self.protected:
            if address_matches(address, pattern):
                return pattern
        return None


def parse_policy(environment: str, document: Mapping[str, Any]) -> Policy:
    """Build the policy for ``environment`` from the whole parsed ``signalbox.toml``.

    ``[policy]`` applies everywhere; ``[environments.<env>.policy]`` overrides its verdicts
    and adds to its ``protected`` list (protection is never removed by an environment).
    Raises :class:`PolicyError` naming the bad key and the valid keys or values.
    """
    verdicts: dict[str, Verdict] = {}
    protected: list[str] = []
    sections = [("policy", document.get("policy"))]
    environments = document.get("environments")
    if isinstance(environments, Mapping) and isinstance(environments.get(environment), Mapping):
        where = f"environments.{environment}.policy"
        sections.append((where, environments[environment].get("policy")))
    for where, section in sections:
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise PolicyError(
                f"[{where}] must be a table, not {type(section).__name__}.",
                hint=f'Write [{where}] with lines like stateful-destroy = "blocked".',
            )
        for key, value in section.items():
            if key == PROTECTED_KEY:
                protected.extend(_protected_list(where, value))
            else:
                verdicts[key] = _verdict(where, key, value)
    return Policy(
        environment=environment, verdicts=verdicts, protected=tuple(dict.fromkeys(protected))
    )


def _verdict(where: str, key: str, value: Any) -> Verdict:
    if key not in FINDING_KINDS:
        valid = ", ".join([PROTECTED_KEY, *sorted(FINDING_KINDS)])
        raise PolicyError(
            f"[{where}] has an unknown key {key!r}.",
            hint=f"Valid keys: {valid}.",
            key=key,
        )
    if not isinstance(value, str) or value not in {verdict.value for verdict in Verdict}:
        raise PolicyError(
            f"[{where}] {key} = {value!r} is not a verdict.",
            hint=f"Use one of {_VALID_VERDICTS}.",
            key=key,
        )
    return Verdict(value)


def _protected_list(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(entry, str) and entry.strip() for entry in value
    ):
        raise PolicyError(
            f"[{where}] protected must be a list of resource addresses.",
            hint='Write protected = ["aws_cognito_user_pool.main", "module.db.*"] '
            "(an entry ending in * protects every address that starts with it).",
            key=PROTECTED_KEY,
        )
    return [entry.strip() for entry in value]
