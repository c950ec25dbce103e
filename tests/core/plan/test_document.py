"""check_document: the signalbox.check/1 JSON document."""

from __future__ import annotations

import orjson
from tests.core.plan.builders import (
    CATALOG,
    DEFAULT_POLICY,
    analyse_changes,
    read_fixture,
    resource,
)

from signalbox.core.plan import COUNT_KEYS, SCHEMA, Severity, analyse, check_document


def test_the_document_shape() -> None:
    analysis = analyse_changes(
        resource("aws_db_instance.main", ["delete"], before={"deletion_protection": False}),
        resource(
            "aws_iam_role.a", ["no-op"], before={}, after={}, previous_address="aws_iam_role.x"
        ),
        errored=True,
        complete=False,
    )
    document = check_document([analysis], environment="dev")
    assert document["schema"] == SCHEMA == "signalbox.check/1"
    assert (document["environment"], document["verdict"]) == ("dev", "blocked")
    (plan,) = document["plans"]
    assert set(plan) == {
        "source",
        "index",
        "terraform_version",
        "format_version",
        "digest",
        "verdict",
        "errored",
        "complete",
        "counts",
        "findings",
        "drift",
    }
    assert (plan["source"], plan["index"], plan["errored"], plan["complete"]) == (
        "plan.json",
        0,
        True,
        False,
    )
    assert plan["digest"].startswith("sha256:") and len(plan["digest"]) == 71
    assert list(plan["counts"]) == list(COUNT_KEYS)
    assert [(f["severity"], f["id"]) for f in plan["findings"]] == [
        ("critical", "plan-errored"),
        ("high", "stateful-destroy"),
        ("info", "moved"),
    ]
    moved = plan["findings"][2]
    assert moved["related"] == ["aws_iam_role.x"]
    assert "attributes" not in moved and "moved_block" not in moved
    assert "related" not in plan["findings"][0]
    orjson.dumps(document)  # serialisable as is


def test_findings_sort_by_severity_then_address() -> None:
    analysis = analyse_changes(
        resource("aws_iam_role.b", ["delete"], before={}),
        resource("aws_iam_role.a", ["delete"], before={}),
        resource("aws_db_instance.z", ["delete"], before={}),
    )
    order = [(f.severity, f.address) for f in analysis.findings]
    assert order == [
        (Severity.HIGH, "aws_db_instance.z"),
        (Severity.LOW, "aws_iam_role.a"),
        (Severity.LOW, "aws_iam_role.b"),
    ]


def test_the_document_verdict_is_the_worst_plan_verdict() -> None:
    quiet = analyse(
        read_fixture("generated/plan_tf103_outputs_only.json"),
        catalog=CATALOG,
        policy=DEFAULT_POLICY,
    )
    approval = analyse(
        read_fixture("public/tfplan-validator/fixture-delete.json"),
        catalog=CATALOG,
        policy=DEFAULT_POLICY,
    )
    assert check_document([quiet], environment="dev")["verdict"] == "routine"
    assert check_document([quiet, approval], environment="x")["verdict"] == "needs-approval"
    assert check_document([], environment="x")["verdict"] == "routine"
