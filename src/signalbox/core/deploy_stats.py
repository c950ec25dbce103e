"""How long a deploy to an environment is expected to take, and why that figure.

The gate refuses a deploy that would still be running when a reservation starts, judged by
this figure, so it errs long: the larger of the configured ``expected_deploy`` and the 90th
percentile (nearest rank) of the last successful deploys to that environment. One fast
deploy (a no-op apply in 0 seconds) cannot shrink it below what the team configured, and a
pipeline that has grown slower than configured is judged by what it really takes.
``estimate_duration`` returns the figure with what it was made from, so that a refusal can
say which figure it used and why (``DeployEstimate.explain``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from signalbox.core.durations import format_duration
from signalbox.core.errors import ConfigError

__all__ = [
    "DEFAULT_HISTORY",
    "PERCENTILE",
    "DeployEstimate",
    "estimate_duration",
    "expected_duration",
    "percentile",
    "remember_success",
]

DEFAULT_HISTORY = 20
"""How many of the last successful deploys an environment keeps and the estimate reads."""

PERCENTILE = 90


@dataclass(frozen=True, slots=True)
class DeployEstimate:
    """``duration``: the figure the gate uses, the larger of ``configured`` and
    ``observed`` (the ``PERCENTILE`` of the last ``count`` successful deploys; None without
    any)."""

    duration: timedelta
    configured: timedelta
    observed: timedelta | None = None
    count: int = 0

    @property
    def from_history(self) -> bool:
        """The figure is the deploys' percentile (it is above the configured one)."""
        return self.observed is not None and self.observed > self.configured

    @property
    def _configured(self) -> str:
        return format_duration(self.configured)

    def explain(self) -> str:
        """Which figure and why, for a sentence: ``17m: the configured expected_deploy,
        larger than the p90 of the last 20 deploys, 4m``."""
        figure = format_duration(self.duration)
        configured = "the configured expected_deploy"
        if self.observed is None:
            return f"{figure}: {configured}, with no successful deploy to learn from yet"
        deploys = "the last deploy" if self.count == 1 else f"the last {self.count} deploys"
        observed = f"the p{PERCENTILE} of {deploys}"
        if self.from_history:
            return f"{figure}: {observed}, larger than {configured}, {self._configured}"
        than = "larger than" if self.configured > self.observed else "the same as"
        return f"{figure}: {configured}, {than} {observed}, {format_duration(self.observed)}"


def percentile(values: Sequence[timedelta], rank: int = PERCENTILE) -> timedelta:
    """The ``rank``-th percentile of ``values`` by nearest rank: the smallest value that at
    least ``rank`` % of them do not exceed (always one of them; never interpolated down)."""
    if not values:
        raise ValueError("the percentile of no values")
    ordered = sorted(values)
    index = max(math.ceil(rank / 100 * len(ordered)), 1) - 1
    return ordered[index]


def estimate_duration(
    recent_successful: Sequence[timedelta],
    configured: timedelta,
    *,
    history: int = DEFAULT_HISTORY,
) -> DeployEstimate:
    """The expected duration of a deploy: the larger of ``configured`` and the p90 of the
    last ``history`` successful durations (``recent_successful``, oldest first).

    Durations of zero or below (clock skew) are ignored. The percentile is rounded to whole
    seconds.
    """
    if configured <= timedelta(0):
        raise ConfigError(
            f"The expected deploy duration must be above zero, not {configured}.",
            hint="Set expected_deploy_duration to a duration such as 17m.",
            field="expected_deploy_duration",
        )
    if history < 1:
        raise ConfigError(
            f"The deploy history must count at least one deploy, not {history}.",
            hint=f"Use the default of {DEFAULT_HISTORY}, or a positive number.",
            field="deploy_history",
        )
    usable = [d for d in recent_successful[-history:] if d > timedelta(0)]
    if not usable:
        return DeployEstimate(configured, configured)
    observed = timedelta(seconds=round(percentile(usable).total_seconds()))
    return DeployEstimate(max(configured, observed), configured, observed, len(usable))


def expected_duration(
    recent_successful: Sequence[timedelta],
    configured: timedelta,
    *,
    history: int = DEFAULT_HISTORY,
) -> timedelta:
    """The figure of ``estimate_duration`` alone."""
    return estimate_duration(recent_successful, configured, history=history).duration


def remember_success(
    recent_seconds: Sequence[float], seconds: float, *, history: int = DEFAULT_HISTORY
) -> list[float]:
    """The durations of the last ``history`` successful deploys (oldest first) once one more
    succeeded in ``seconds``: what an environment keeps for ``estimate_duration``."""
    return [*recent_seconds, seconds][-history:]
