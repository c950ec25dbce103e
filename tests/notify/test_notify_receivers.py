"""The loopback receivers the notification tests rely on do what they say: record what
Apprise sends (json://, form://, mailto://), answer errors, refuse and come back on the same
port, hang and drop, and fail a wait saying what did arrive."""

from __future__ import annotations

import time

import apprise
import httpx
import pytest
from tests.support.receivers import HttpReceiver, SmtpReceiver

TITLE, BODY = "dev: hold granted", "platform-eng held dev for 4h.\nhttp://x/\nsignalbox event 12"


def send(*urls: str) -> bool:
    notifier = apprise.Apprise()
    for url in urls:
        assert notifier.add(url), url
    return bool(notifier.notify(title=TITLE, body=BODY, body_format=apprise.NotifyFormat.TEXT))


def test_json_and_form_posts_are_read_with_their_title_message_and_type(
    http_receiver: HttpReceiver,
) -> None:
    assert send(
        http_receiver.url("json", "/j?-token=abc", auth="user:pw"), http_receiver.url("form", "/f")
    )
    posts = sorted(http_receiver.wait_for(2), key=lambda post: post.path)
    form, json_post = posts
    assert (json_post.path, json_post.query) == ("/j", {"token": "abc"})
    assert json_post.content_type.startswith("application/json")
    assert json_post.headers["authorization"] == "Basic dXNlcjpwdw=="
    assert form.content_type.startswith("application/x-www-form-urlencoded")
    for post in posts:
        assert (post.title, post.message, post.type) == (TITLE, BODY, "info")
        assert post.event_id == 12 and post.sentence == "platform-eng held dev for 4h."


def test_mail_is_read_with_its_subject_body_and_envelope(smtp_receiver: SmtpReceiver) -> None:
    assert send(smtp_receiver.url(to="coo@example.com"))
    [mail] = smtp_receiver.wait_for(1)
    assert (mail.subject, mail.body.strip(), mail.event_id) == (TITLE, BODY, 12)
    assert mail.mail_from == "signalbox@example.com" and mail.rcpt_tos == ("coo@example.com",)


def test_it_fails_refuses_and_comes_back_on_the_same_port(http_receiver: HttpReceiver) -> None:
    url = http_receiver.url("json")
    http_receiver.fail(503, times=1)
    assert not send(url) and send(url)  # one failure, then answered again
    http_receiver.refuse()
    with pytest.raises(httpx.ConnectError):
        httpx.post(url.replace("json://", "http://"), json={}, timeout=2)
    assert not send(url)
    http_receiver.answer_ok()
    assert send(url)
    assert len(http_receiver.posts) == 2 and len(http_receiver.attempts) == 3


def test_a_hung_request_is_recorded_and_dropped_after_its_time(http_receiver: HttpReceiver) -> None:
    http_receiver.hang(0.2)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(http_receiver.url("http", "/x"), json={"title": TITLE}, timeout=10)
    assert time.monotonic() - started < 5
    assert [post.title for post in http_receiver.hung] == [TITLE] and http_receiver.posts == []


def test_a_wait_that_runs_out_says_what_came(http_receiver: HttpReceiver) -> None:
    assert send(http_receiver.url("json"))
    with pytest.raises(AssertionError, match=r"waited 0.1s for 2 posts, got 1"):
        http_receiver.wait_for(2, timeout=0.1)
    with pytest.raises(AssertionError, match="dev: hold granted: platform-eng held dev"):
        http_receiver.wait_for_post(lambda post: post.title == "nothing", timeout=0.1)
