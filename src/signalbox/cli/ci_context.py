"""Who and what a CI run is deploying: commit, branch, actor and a link to the run.

Read from GitHub Actions or GitLab CI variables when present; flags given to ``gate``
override them. Outside CI the values default to empty, except the branch (``unknown``), so a
deploy can still be requested by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

__all__ = ["CiContext", "ci_context_from_env"]


@dataclass(frozen=True, slots=True)
class CiContext:
    """What the server stores with a deploy: the commit, branch, actor and run link."""

    commit: str = ""
    branch: str = ""
    actor: str = ""
    run_url: str = ""
    system: str = ""  # "github-actions", "gitlab-ci" or "" (by hand / flags only)

    def with_overrides(
        self,
        *,
        commit: str | None = None,
        branch: str | None = None,
        actor: str | None = None,
        run_url: str | None = None,
    ) -> CiContext:
        """The same context with every flag that was given replacing the detected value."""
        given = {
            "commit": commit,
            "branch": branch,
            "actor": actor,
            "run_url": run_url,
        }
        return replace(self, **{key: value for key, value in given.items() if value is not None})


def _github(env: Mapping[str, str]) -> CiContext:
    # On pull_request events GITHUB_REF_NAME is "123/merge"; GITHUB_HEAD_REF is the branch.
    branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME", "")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository = env.get("GITHUB_REPOSITORY", "")
    run_id = env.get("GITHUB_RUN_ID", "")
    run_url = f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else ""
    return CiContext(
        commit=env.get("GITHUB_SHA", ""),
        branch=branch,
        actor=env.get("GITHUB_ACTOR", ""),
        run_url=run_url,
        system="github-actions",
    )


def _gitlab(env: Mapping[str, str]) -> CiContext:
    branch = env.get("CI_COMMIT_REF_NAME") or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "")
    return CiContext(
        commit=env.get("CI_COMMIT_SHA", ""),
        branch=branch,
        actor=env.get("GITLAB_USER_LOGIN", ""),
        run_url=env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL", ""),
        system="gitlab-ci",
    )


def ci_context_from_env(env: Mapping[str, str]) -> CiContext:
    """The CI context of this process: GitHub Actions, then GitLab CI, else empty."""
    if env.get("GITHUB_ACTIONS") == "true" or "GITHUB_SHA" in env:
        return _github(env)
    if env.get("GITLAB_CI") == "true" or "CI_COMMIT_SHA" in env:
        return _gitlab(env)
    return CiContext()
