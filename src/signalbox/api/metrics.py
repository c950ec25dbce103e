"""``GET /metrics`` in Prometheus' text format: what the server does, and what the database
holds, for a scraper (prometheus-client).

Two kinds of figures, on one registry per app (``ServerMetrics``):

- this server's requests, counted by ``RequestMetrics`` (ASGI middleware) by method, route
  template (``/api/deploys/{deploy_id}``, never the path with its ids: a bounded set of
  labels; ``unmatched`` for a path no route serves) and status, with their durations;
- the database's figures (holds, deploys, the queue, deploy durations, state bytes written,
  the notification backlog), read at every scrape by ``DatabaseCollector`` from
  ``services.metrics``: servers sharing one database report the same figures.

docs/server.md ("Metrics") lists every metric, its labels and meaning, and who may read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signalbox import __version__
from signalbox.core.views import DeployState
from signalbox.services.metrics import DURATION_BUCKETS, MetricsSnapshot, read_snapshot

__all__ = ["DatabaseCollector", "RequestMetrics", "ServerMetrics", "database_families"]

UNMATCHED = "unmatched"
"""The route label of a request no route served (its path is never a label)."""

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_WAITING_FOR = {DeployState.QUEUED: "turn", DeployState.AWAITING_APPROVAL: "approval"}


@dataclass(frozen=True)
class ServerMetrics:
    """The registry ``/metrics`` answers from, and the request figures the middleware adds."""

    registry: CollectorRegistry
    requests: Counter
    durations: Histogram

    @classmethod
    def create(cls, database: Collector) -> ServerMetrics:
        registry = CollectorRegistry(auto_describe=True)
        requests = Counter(
            "signalbox_http_requests",
            "HTTP requests answered by this server, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        durations = Histogram(
            "signalbox_http_request_duration_seconds",
            "Time this server took to answer, by method and route template.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        registry.register(database)
        return cls(registry, requests, durations)


class RequestMetrics:
    """Counts every HTTP request by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # the labelled children, found once per (method, route, status): ``labels()`` takes
        # a lock and builds its key on every call. Bounded: routes are templates.
        self.counts: dict[tuple[str, str, int], Any] = {}
        self.timings: dict[tuple[str, str], Any] = {}

    def _count(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        child = self.counts.get(key)
        if child is None:
            child = self.counts[key] = self.metrics.requests.labels(method, route, str(status))
        return child

    def _timing(self, method: str, route: str) -> Any:
        key = (method, route)
        child = self.timings.get(key)
        if child is None:
            child = self.timings[key] = self.metrics.durations.labels(method, route)
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless the app starts an answer: an error escaped every handler
        started = time.perf_counter()

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            self._count(method, route, status).inc()
            self._timing(method, route).observe(time.perf_counter() - started)


def _gauge(name: str, help_text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=labels)


def database_families(
    snapshot: MetricsSnapshot, environments: Iterable[str], *, notifying: bool
) -> list[Metric]:
    """The database's figures as Prometheus families; the queue gauges are given for every
    configured environment in ``environments`` (0 when nothing waits)."""
    holds = _gauge(
        "signalbox_holds",
        "Current holds by environment, kind (work or deploy) and state (held, or lapsed: "
        "the lease ran out and the sweeper has not ended it yet).",
        ["environment", "kind", "state"],
    )
    for environment, kind, state, count in snapshot.holds:
        holds.add_metric([environment, kind, state], count)

    deploys = _gauge(
        "signalbox_deploys",
        "Deploys ever requested, by environment and state (queued, awaiting-approval, "
        "running, succeeded, failed, refused, superseded, denied, ...).",
        ["environment", "state"],
    )
    waiting: dict[tuple[str, str], int] = {
        (env, why): 0 for env in environments for why in _WAITING_FOR.values()
    }
    for environment, state, count in snapshot.deploys:
        deploys.add_metric([environment, state], count)
        if state in _WAITING_FOR:
            key = (environment, _WAITING_FOR[DeployState(state)])
            waiting[key] = waiting.get(key, 0) + count
    gates = _gauge(
        "signalbox_gates_waiting",
        "Gates waiting, by environment and what for: their turn (queued) or an approval.",
        ["environment", "waiting_for"],
    )
    queue: dict[str, int] = {}
    for (environment, why), count in sorted(waiting.items()):
        gates.add_metric([environment, why], count)
        queue[environment] = queue.get(environment, 0) + count
    queue_length = _gauge(
        "signalbox_queue_length",
        "Deploys in the queue of each environment (queued or awaiting approval).",
        ["environment"],
    )
    for environment, count in sorted(queue.items()):
        queue_length.add_metric([environment], count)

    durations = HistogramMetricFamily(
        "signalbox_deploy_duration_seconds",
        "How long finished deploys ran (as their gate reported), by environment and outcome.",
        labels=["environment", "outcome"],
    )
    for each in snapshot.durations:
        pairs = zip(DURATION_BUCKETS, each.at_most, strict=True)
        buckets = [(_le(bound), count) for bound, count in pairs]
        buckets.append(("+Inf", each.count))
        durations.add_metric([each.environment, each.outcome], buckets, each.total_seconds)

    state_bytes = CounterMetricFamily(
        "signalbox_state_bytes_written",
        "Bytes of Terraform state written (every accepted version), by environment.",
        labels=["environment"],
    )
    state_writes = CounterMetricFamily(
        "signalbox_state_writes",
        "Terraform state versions written (accepted writes), by environment.",
        labels=["environment"],
    )
    for environment, versions, size in snapshot.state_writes:
        state_writes.add_metric([environment], versions)
        state_bytes.add_metric([environment], size)

    families: list[Metric] = [
        holds,
        deploys,
        gates,
        queue_length,
        durations,
        state_bytes,
        state_writes,
    ]
    if notifying:
        backlog = _gauge(
            "signalbox_notification_backlog",
            "Notification deliveries not delivered, by target and state (pending, sending, "
            "failed: to be tried again; given-up: until someone retries the target).",
            ["target", "state"],
        )
        for target, state, count in snapshot.deliveries:
            backlog.add_metric([target, state], count)
        to_fan_out = _gauge(
            "signalbox_notification_events_waiting",
            "Events the notifier has not yet turned into deliveries.",
            [],
        )
        to_fan_out.add_metric([], snapshot.events_to_fan_out)
        families += [backlog, to_fan_out]
    info = _gauge("signalbox_build_info", "The signalbox version this server runs.", ["version"])
    info.add_metric([__version__], 1)
    return [*families, info]


def _le(bound: float) -> str:
    """A bucket's upper bound as Prometheus writes it: ``60.0``, ``0.5``."""
    return repr(float(bound))


_EMPTY = MetricsSnapshot(
    holds=(), deploys=(), durations=(), state_writes=(), deliveries=(), events_to_fan_out=0
)


class DatabaseCollector(Collector):
    """Reads the database's figures at every scrape (``services.metrics.read_snapshot``)."""

    def __init__(
        self,
        engine: Engine,
        now: Callable[[], datetime],
        environments: Mapping[str, object],
        *,
        notifying: bool,
    ) -> None:
        self.engine, self.now, self.environments = engine, now, environments
        self.notifying = notifying

    def describe(self) -> Iterable[Metric]:
        """The families without reading the database (registration must not query it)."""
        return database_families(_EMPTY, (), notifying=self.notifying)

    def collect(self) -> Iterable[Metric]:
        snapshot = read_snapshot(self.engine, now=self.now(), notifying=self.notifying)
        return database_families(snapshot, self.environments, notifying=self.notifying)
