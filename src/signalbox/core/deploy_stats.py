"""How long a deploy to an environment is expected to take.

The gate refuses a deploy that would still be running when a reservation starts, judged by
this figure: the median of the last successful deploys to that environment (robust to the
one run that waited 40 minutes for a runner), or the configured value while there is no
history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from signalbox.core.errors import ConfigError

__all__ = ["DEFAULT_HISTORY", "expected_duration", "remember_success"]

DEFAULT_HISTORY = 10


def expected_duration(
    recent_successful: Sequence[timedelta],
    configured: timedelta,
    *,
    history: int = DEFAULT_HISTORY,
) -> timedelta:
    """Median of the last ``history`` successful durations, or ``configured`` without any.

    ``recent_successful`` is ordered oldest to newest; only its last ``history`` entries
    count. Durations of zero or below (clock skew) are ignored. The result is rounded to
    whole seconds; with an even count it is the mean of the two middle values.
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
            hint="Use the default of 10, or a positive number.",
            field="deploy_history",
        )
    usable = sorted(d for d in recent_successful[-history:] if d > timedelta(0))
    if not usable:
        return configured
    middle = len(usable) // 2
    median = usable[middle] if len(usable) % 2 else (usable[middle - 1] + usable[middle]) / 2
    return timedelta(seconds=round(median.total_seconds()))


def remember_success(
    recent_seconds: Sequence[float], seconds: float, *, history: int = DEFAULT_HISTORY
) -> list[float]:
    """The durations of the last ``history`` successful deploys (oldest first) once one more
    succeeded in ``seconds``: what an environment keeps for ``expected_duration``."""
    return [*recent_seconds, seconds][-history:]
