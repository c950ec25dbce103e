"""parse_policy: defaults, [policy], per-environment overrides, protected lists, errors."""

from __future__ import annotations

from typing import Any

import pytest

from signalbox.core.errors import PolicyError
from signalbox.core.plan import FINDING_KINDS, Verdict, parse_policy


def test_defaults_without_a_file() -> None:
    policy = parse_policy("dev", {})
    assert policy.verdict_for("stateful-destroy") is Verdict.NEEDS_APPROVAL
    assert policy.verdict_for("stateful-replace") is Verdict.NEEDS_APPROVAL
    assert policy.verdict_for("protected-destroy") is Verdict.BLOCKED
    assert policy.verdict_for("probable-rename") is Verdict.ROUTINE
    assert policy.protected == ()


def test_environment_overrides_apply_only_to_that_environment() -> None:
    document = {
        "policy": {"probable-rename": "needs-approval", "protected": ["aws_s3_bucket.a"]},
        "environments": {
            "prod": {"policy": {"probable-rename": "blocked", "protected": ["module.db.*"]}},
            "dev": {"url": "ignored here"},
        },
    }
    dev, prod = parse_policy("dev", document), parse_policy("prod", document)
    assert dev.verdict_for("probable-rename") is Verdict.NEEDS_APPROVAL
    assert prod.verdict_for("probable-rename") is Verdict.BLOCKED
    assert dev.protected == ("aws_s3_bucket.a",)
    assert prod.protected == ("aws_s3_bucket.a", "module.db.*")
    assert prod.protecting_pattern('module.db.aws_db_instance.this["a"]') == "module.db.*"
    assert prod.protecting_pattern("module.dbx.aws_db_instance.this") is None
    assert dev.protecting_pattern("aws_s3_bucket.a") == "aws_s3_bucket.a"
    assert dev.protecting_pattern("aws_s3_bucket.a[0]") is None


@pytest.mark.parametrize(
    ("document", "message", "hint"),
    [
        (
            {"policy": {"stateful-destroyy": "blocked"}},
            "unknown key 'stateful-destroyy'",
            "Valid keys: protected, deferred",
        ),
        (
            {"policy": {"delete": "maybe"}},
            "delete = 'maybe' is not a verdict",
            '"routine", "needs-approval", "blocked"',
        ),
        ({"policy": {"delete": True}}, "is not a verdict", "Use one of"),
        ({"policy": {"protected": "aws_s3_bucket.a"}}, "protected must be a list", "protected = ["),
        ({"policy": {"protected": [""]}}, "protected must be a list", "ending in *"),
        ({"policy": ["delete"]}, r"\[policy\] must be a table", "stateful-destroy"),
        (
            {"environments": {"dev": {"policy": {"nope": "routine"}}}},
            r"\[environments\.dev\.policy\] has an unknown key 'nope'",
            "probable-rename",
        ),
    ],
)
def test_bad_policies_name_the_key_and_the_valid_choices(
    document: dict[str, Any], message: str, hint: str
) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy("dev", document)
    assert hint in caught.value.hint


def test_every_finding_id_can_be_set() -> None:
    for finding_id in FINDING_KINDS:
        policy = parse_policy("dev", {"policy": {finding_id: "blocked"}})
        assert policy.verdict_for(finding_id) is Verdict.BLOCKED
