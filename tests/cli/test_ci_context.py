"""CI context: GitHub Actions and GitLab CI variables, and flags that override them."""

from __future__ import annotations

from signalbox.cli.ci_context import CiContext, ci_context_from_env

GITHUB_PUSH = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "1a2b3c4d5e6f",
    "GITHUB_REF_NAME": "main",
    "GITHUB_ACTOR": "frontend-dev",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/app",
    "GITHUB_RUN_ID": "4242",
}


def test_github_push_gives_commit_branch_actor_and_run_link() -> None:
    context = ci_context_from_env(GITHUB_PUSH)
    assert context == CiContext(
        commit="1a2b3c4d5e6f",
        branch="main",
        actor="frontend-dev",
        run_url="https://github.com/acme/app/actions/runs/4242",
        system="github-actions",
    )


def test_github_pull_request_uses_the_head_branch_not_the_merge_ref() -> None:
    env = {**GITHUB_PUSH, "GITHUB_REF_NAME": "17/merge", "GITHUB_HEAD_REF": "colour-buttons"}
    assert ci_context_from_env(env).branch == "colour-buttons"


def test_github_enterprise_server_url_is_used_for_the_link() -> None:
    env = {**GITHUB_PUSH, "GITHUB_SERVER_URL": "https://git.example.com/"}
    assert ci_context_from_env(env).run_url == "https://git.example.com/acme/app/actions/runs/4242"


def test_gitlab_variables() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": "abc123",
        "CI_COMMIT_REF_NAME": "main",
        "GITLAB_USER_LOGIN": "coo",
        "CI_JOB_URL": "https://gitlab.example.com/acme/app/-/jobs/9",
    }
    assert ci_context_from_env(env) == CiContext(
        commit="abc123",
        branch="main",
        actor="coo",
        run_url="https://gitlab.example.com/acme/app/-/jobs/9",
        system="gitlab-ci",
    )


def test_outside_ci_everything_is_empty() -> None:
    assert ci_context_from_env({"HOME": "/root"}) == CiContext()


def test_flags_override_only_what_they_give() -> None:
    context = ci_context_from_env(GITHUB_PUSH).with_overrides(branch="hotfix", commit=None)
    assert (context.branch, context.commit) == ("hotfix", "1a2b3c4d5e6f")
