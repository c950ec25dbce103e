"""The notifications API against real loopback receivers (real Apprise, the app's own
notifier): targets and deliveries as each caller may see them, a failing target in the
environment's picture, sending again, a test message, who may do what, and no URL or
secret in any answer. The clock is fake and frozen, so a failed message is only sent again
when a retry asks for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import ADMIN, ADMIN_TOKEN
from tests.support.receivers import HttpReceiver

from signalbox.api.app import create_app
from signalbox.api.models.environments import PictureJson
from signalbox.notify_settings import NotifyTarget
from signalbox.services.notify.worker import FailingTarget
from signalbox.services.status import environment_picture
from signalbox.settings import EnvironmentConfig, Settings

SECRET = "s3cret-hook-token"


@pytest.fixture
def dev_hook() -> Iterator[HttpReceiver]:
    """The receiver of target dev-hook (hears of dev): it answers."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def pager() -> Iterator[HttpReceiver]:
    """The receiver of target pager (hears of everything): down, connections refused, until
    a test brings it back with ``answer_ok()``."""
    with HttpReceiver() as receiver:
        receiver.refuse()
        yield receiver


@pytest.fixture
def settings(dev_hook: HttpReceiver, pager: HttpReceiver) -> Settings:
    return Settings(
        admin_token=ADMIN_TOKEN,
        max_body_bytes=4096,
        environments={
            "dev": EnvironmentConfig("dev", timezone="Europe/Berlin", expected_deploy_seconds=1020),
            "prod": EnvironmentConfig("prod", timezone="UTC"),
        },
        notify=(
            NotifyTarget(
                "dev-hook",
                urls=(dev_hook.url("json", f"/hooks/{SECRET}-dev"),),
                environments=("dev",),
            ),
            NotifyTarget("pager", urls=(pager.url("json", f"/hooks/{SECRET}"),)),
        ),
    )


def eventually(read: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Read again until ``until(value)`` holds, or fail with the last value (no sleeps as
    synchronisation: a deadline on a condition)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout}s"
        time.sleep(0.05)


def no_secret(text: str, *receivers: HttpReceiver) -> None:
    """Neither the URLs nor any part of them that could be a secret."""
    assert SECRET not in text and "json://" not in text
    for receiver in receivers:
        assert f":{receiver.port}" not in text


def hold(client: TestClient, environment: str, headers: dict[str, str] = ADMIN) -> None:
    answer = client.post(
        f"/api/environments/{environment}/hold",
        headers=headers,
        json={"reason": "renaming the pool", "duration": "2h"},
    )
    assert answer.status_code == 200, answer.text


def listing(client: TestClient, headers: dict[str, str] = ADMIN, **params: Any) -> Any:
    answer = client.get("/api/notifications", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def targets_of(answer: Any) -> dict[str, Any]:
    return {target["name"]: target for target in answer["targets"]}


def picture(client: TestClient, environment: str) -> Any:
    answer = client.get(f"/api/environments/{environment}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_failing_target_is_listed_shown_in_the_picture_and_sent_again_on_retry(
    client, dev_hook, pager
):
    hold(client, "dev")
    [post] = dev_hook.wait_for(1)
    assert post.title == "dev: hold granted"

    failing = eventually(
        lambda: listing(client),
        lambda answer: (
            targets_of(answer)["pager"]["failing"] and targets_of(answer)["dev-hook"]["open"] == 0
        ),
    )
    targets = targets_of(failing)
    assert list(targets) == ["dev-hook", "pager"]
    assert targets["dev-hook"] == {
        "name": "dev-hook",
        "configured": True,
        "environments": ["dev"],
        "events": targets["dev-hook"]["events"],
        "open": 0,
        "given_up": 0,
        "failing": None,
        "gave_up": None,
        "last_delivered_at": targets["dev-hook"]["last_delivered_at"],
    }
    assert targets["dev-hook"]["last_delivered_at"] is not None
    assert "hold.*" in targets["dev-hook"]["events"]
    paging = targets["pager"]
    assert paging["environments"] is None and paging["open"] == 1
    assert paging["failing"]["attempts"] == 1
    assert paging["failing"]["event_id"] == post.event_id
    assert paging["failing"]["last_error"]
    newest, older = failing["deliveries"]
    assert newest["id"] > older["id"]
    assert (newest["target"], newest["state"], newest["attempts"]) == ("pager", "failed", 1)
    assert (older["target"], older["state"]) == ("dev-hook", "delivered")
    assert newest["event_id"] == older["event_id"] == post.event_id
    assert newest["kind"] == "hold.granted" and newest["environment"] == "dev"
    assert newest["timezone"] == "Europe/Berlin"
    assert newest["message"].startswith("bootstrap-admin held dev for 2h")
    assert failing["next_before"] is None

    only_failed = listing(client, failed="true")
    assert list(targets_of(only_failed)) == ["pager"]
    assert [d["id"] for d in only_failed["deliveries"]] == [newest["id"]]

    dev = eventually(lambda: picture(client, "dev"), lambda p: p["notifications_failing"])
    [shown] = dev["notifications_failing"]
    assert shown["target"] == "pager" and shown["attempts"] == 1 and shown["state"] == "failing"
    assert shown["since"] == paging["failing"]["since"]
    assert shown["last_error"] == paging["failing"]["last_error"]
    assert [t["target"] for t in picture(client, "prod")["notifications_failing"]] == ["pager"]
    everything = client.get("/api/environments", headers=ADMIN).json()["environments"]
    assert all(e["notifications_failing"] == [shown] for e in everything)

    pager.answer_ok()
    retried = client.post("/api/notifications/targets/pager/retry", headers=ADMIN)
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"target": "pager", "requeued": 1}
    [again] = pager.wait_for(1)
    assert again.event_id == post.event_id and again.title == "dev: hold granted"
    eventually(lambda: picture(client, "dev"), lambda p: p["notifications_failing"] == [])
    healed = eventually(
        lambda: listing(client), lambda answer: targets_of(answer)["pager"]["open"] == 0
    )
    assert targets_of(healed)["pager"]["failing"] is None
    assert listing(client, failed="true")["deliveries"] == []

    for text in (
        str(failing),
        str(only_failed),
        str(dev),
        str(everything),
        retried.text,
        str(healed),
    ):
        no_secret(text, dev_hook, pager)


def test_one_delivery_is_sent_again_and_an_unknown_one_is_404(client, dev_hook):
    hold(client, "dev")
    [first] = dev_hook.wait_for(1)
    delivered = eventually(
        lambda: listing(client, target="dev-hook"),
        lambda answer: answer["deliveries"] and answer["deliveries"][0]["state"] == "delivered",
    )
    delivery = delivered["deliveries"][0]

    retried = client.post(f"/api/notifications/{delivery['id']}/retry", headers=ADMIN)
    assert retried.status_code == 200, retried.text
    again = retried.json()["delivery"]
    assert again["id"] == delivery["id"] and again["state"] == "pending"
    assert again["attempts"] == 0 and again["delivered_at"] is None
    assert again["kind"] == "hold.granted" and again["target"] == "dev-hook"
    _, second = dev_hook.wait_for(2)
    assert second.event_id == first.event_id  # the same event id: a receiver can drop it

    unknown = client.post("/api/notifications/999999/retry", headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-delivery"
    no_secret(retried.text + unknown.text, dev_hook)


def test_callers_see_the_deliveries_of_environments_they_may_read(client, token_for, dev_hook):
    hold(client, "dev")
    hold(client, "prod")
    eventually(lambda: listing(client), lambda answer: len(answer["deliveries"]) == 3)

    dev_reader = token_for("dev-reader", "viewer:dev")
    prod_reader = token_for("prod-reader", "viewer:prod")
    as_dev = listing(client, dev_reader)
    assert {d["environment"] for d in as_dev["deliveries"]} == {"dev"}
    assert len(as_dev["deliveries"]) == 2
    assert list(targets_of(as_dev)) == ["dev-hook", "pager"]
    as_prod = listing(client, prod_reader)
    assert [(d["environment"], d["target"]) for d in as_prod["deliveries"]] == [("prod", "pager")]
    assert list(targets_of(as_prod)) == ["pager"]  # dev-hook hears of dev only

    first_page = listing(client, limit=1)
    assert len(first_page["deliveries"]) == 1 and first_page["next_before"]
    second_page = listing(client, limit=1, before=first_page["next_before"])
    assert second_page["deliveries"][0]["id"] < first_page["deliveries"][0]["id"]
    # a page fills with what the caller may read, skipping what it may not
    prod_page = listing(client, prod_reader, limit=1)
    assert [d["environment"] for d in prod_page["deliveries"]] == ["prod"]

    unknown = client.get("/api/notifications", headers=ADMIN, params={"target": "nope"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-target"
    assert "dev-hook, pager" in unknown.json()["detail"]


def test_only_admins_send_again_or_test(client, token_for, dev_hook):
    hold(client, "dev")
    dev_hook.wait_for(1)
    developer = token_for("platform-eng", "developer:dev", "admin:dev")
    for path in (
        "/api/notifications/1/retry",
        "/api/notifications/targets/pager/retry",
        "/api/notify/dev-hook/test",
    ):
        refused = client.post(path, headers=developer)
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "forbidden" and "admin:*" in refused.json()["detail"]
    assert len(dev_hook.posts) == 1  # no test message went out
    no_auth = client.post("/api/notify/dev-hook/test")
    assert no_auth.status_code == 401


def test_a_test_message_goes_through_the_target_and_says_what_apprise_answered(
    client, dev_hook, pager
):
    sent = client.post("/api/notify/dev-hook/test", headers=ADMIN)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"target": "dev-hook", "sent": True, "answer": "sent to 1 URL"}
    [post] = dev_hook.wait_for(1)
    assert post.title == "signalbox: test message for dev-hook"
    assert "bootstrap-admin sent this test through the notification target dev-hook" in (
        post.message
    )

    down = client.post("/api/notify/pager/test", headers=ADMIN)
    assert down.status_code == 200, down.text
    answer = down.json()
    assert answer["target"] == "pager" and answer["sent"] is False
    assert "0 of 1 URLs took it" in answer["answer"]

    unknown = client.post("/api/notify/nope/test", headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-target"
    assert "Configured targets: dev-hook, pager" in unknown.json()["detail"]
    unknown_retry = client.post("/api/notifications/targets/nope/retry", headers=ADMIN)
    assert unknown_retry.status_code == 404

    for text in (sent.text, down.text, unknown.text, unknown_retry.text):
        no_secret(text, dev_hook, pager)


def test_without_targets_the_picture_shows_none_and_the_listing_is_empty(clock, database):
    plain = Settings(
        admin_token=ADMIN_TOKEN, environments={"dev": EnvironmentConfig("dev", timezone="UTC")}
    )
    app = create_app(plain, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app) as client:
        hold(client, "dev")
        assert picture(client, "dev")["notifications_failing"] == []
        assert listing(client) == {
            "timezone": "UTC",
            "targets": [],
            "deliveries": [],
            "next_before": None,
        }
        test = client.post("/api/notify/anything/test", headers=ADMIN)
        assert test.status_code == 404
        assert "(none configured)" in test.json()["detail"]


def test_the_picture_json_is_made_once_per_picture_and_failing_targets(settings, clock, database):
    app = create_app(settings, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app):
        context = app.state.server
        found = environment_picture(
            database, settings, "dev", now=clock.now(), cache=context.pictures
        )
    made = PictureJson()
    plain = made.of(found)
    assert made.of(found) is plain  # kept
    failing = FailingTarget(
        target="pager",
        delivery_id=7,
        event_id=3,
        since=clock.now(),
        attempts=2,
        next_attempt_at=clock.now(),
        last_error="0 of 1 URLs took it",
    )
    with_failing = made.of(found, (failing,))
    assert with_failing != plain and b'"target":"pager"' in with_failing
    assert made.of(found, (failing,)) is with_failing  # an equal tuple: kept
    assert made.of(found) == plain and b'"notifications_failing":[]' in plain
