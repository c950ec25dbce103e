"""The check renderers, on documents in the contract's shape (schema signalbox.check/1)."""

from __future__ import annotations

import io
from typing import Any

import orjson
from rich.console import Console

from signalbox.cli.render_check import headline, render_json, render_markdown, render_text

MOVED = "moved {\n  from = aws_cognito_user_pool.main\n  to   = aws_cognito_user_pool.users\n}\n"
COUNTS = {
    "create": 1,
    "update": 0,
    "delete": 1,
    "replace": 0,
    "read": 0,
    "no-op": 3,
    "forget": 0,
    "import": 0,
    "moved": 0,
}


def finding(fid: str, severity: str, verdict: str, address: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": fid,
        "severity": severity,
        "verdict": verdict,
        "address": address,
        "message": f"{fid} message for {address}.",
        "hint": f"{fid} hint.",
        **extra,
    }


def story_document() -> dict[str, Any]:
    """The incident: the Cognito pool renamed without a moved block."""
    findings = [
        finding(
            "stateful-destroy",
            "high",
            "needs-approval",
            "aws_cognito_user_pool.main",
            message="aws_cognito_user_pool.main is destroyed: every user account is lost.",
            hint="Add a moved block if this is a rename.",
        ),
        finding(
            "probable-rename",
            "medium",
            "routine",
            "aws_cognito_user_pool.users",
            related=["aws_cognito_user_pool.main"],
            attributes=["name", "mfa_configuration"],
            moved_block=MOVED,
        ),
        finding("protection-missing", "low", "routine", "aws_cognito_user_pool.users"),
        finding("moved", "info", "routine", "aws_s3_bucket.assets"),
        finding("forget", "info", "routine", "aws_sqs_queue.old"),
    ]
    plan = {
        "source": "plan.json",
        "index": 0,
        "terraform_version": "1.15.5",
        "format_version": "1.2",
        "digest": "sha256:00",
        "verdict": "needs-approval",
        "errored": False,
        "complete": True,
        "counts": COUNTS,
        "findings": findings,
        "drift": [{"address": "aws_s3_bucket.logs", "action": "delete"}],
    }
    return {
        "schema": "signalbox.check/1",
        "environment": "dev",
        "verdict": "needs-approval",
        "plans": [plan],
    }


def routine_document(counts: dict[str, int] | None = None) -> dict[str, Any]:
    plan = {
        "source": "routine.json",
        "index": 0,
        "terraform_version": "1.9.0",
        "format_version": "1.2",
        "digest": "sha256:11",
        "verdict": "routine",
        "errored": False,
        "complete": True,
        "counts": counts or dict(COUNTS),
        "findings": [],
        "drift": [],
    }
    return {
        "schema": "signalbox.check/1",
        "environment": "prod",
        "verdict": "routine",
        "plans": [plan],
    }


def text_of(document: dict[str, Any]) -> str:
    buffer = io.StringIO()
    render_text(document, Console(file=buffer, width=120, color_system=None))
    return buffer.getvalue()


def test_headline_puts_the_verdict_first_and_says_why() -> None:
    assert headline(story_document()) == "NEEDS APPROVAL on dev: 1 stateful resource destroyed"


def test_headline_of_routine_plans() -> None:
    assert headline(routine_document()) == "ROUTINE on prod: nothing risky"
    nothing = dict.fromkeys(COUNTS, 0) | {"no-op": 4}
    assert headline(routine_document(nothing)) == "ROUTINE on prod: no changes"


def test_headline_of_a_blocked_plan_counts_only_what_blocks() -> None:
    document = story_document()
    document["verdict"] = "blocked"
    document["plans"][0]["findings"][:0] = [
        finding("protected-destroy", "critical", "blocked", "aws_cognito_user_pool.main"),
        finding("protected-destroy", "critical", "blocked", "aws_db_instance.main"),
    ]
    assert headline(document) == "BLOCKED on dev: 2 protected resources destroyed"


def test_text_shows_verdict_then_findings_that_matter_then_counts() -> None:
    text = text_of(story_document())
    lines = text.splitlines()
    assert lines[0] == "NEEDS APPROVAL on dev: 1 stateful resource destroyed"
    assert "every user account is lost" in text
    assert "Add a moved block if this is a rename." in text
    assert "attributes: name, mfa_configuration" in text
    assert text.index("HIGH") < text.index("MEDIUM") < text.index("Also:") < text.index("Changes:")
    for line in MOVED.strip().splitlines():
        assert line.strip() in text
    # low and info findings are counted, not spelled out
    assert "protection-missing message" not in text and "forget message" not in text
    assert "1 resource forgotten" in text and "1 resource moved" in text
    assert "1 resource without protection" in text
    assert "Changes: 1 create, 1 delete, 3 no-op; 1 changed outside Terraform (drift)" in text


def test_the_moved_block_is_printed_ready_to_paste() -> None:
    text = text_of(story_document())
    block = [line.strip() for line in text.splitlines() if line.strip()][-6:]
    start = text.index("moved {")
    pasted = "\n".join(line.strip() for line in text[start:].splitlines()[:4])
    assert (
        pasted
        == "moved {\nfrom = aws_cognito_user_pool.main\nto   = aws_cognito_user_pool.users\n}"
    )
    assert block  # the report goes on after the block (counts)


def test_addresses_with_brackets_are_printed_literally_not_as_markup() -> None:
    document = story_document()
    address = 'module.db["[bold]x"].aws_db_instance.this["a"]'
    document["plans"][0]["findings"][0]["address"] = address
    document["plans"][0]["findings"][0]["message"] = f"{address} is destroyed [red]now[/red]."
    text = text_of(document)
    assert address in text
    assert "[red]now[/red]" in text


def test_several_plans_get_one_report_with_a_section_each() -> None:
    document = story_document()
    second = routine_document()["plans"][0]
    document["plans"].append(second | {"source": "run-all.json", "index": 1})
    text = text_of(document)
    assert text.splitlines()[0].startswith("NEEDS APPROVAL on dev")
    assert "Plan 1 of 2: plan.json (Terraform 1.15.5, format 1.2)  NEEDS APPROVAL" in text
    assert "Plan 2 of 2: run-all.json (document 2) (Terraform 1.9.0, format 1.2)  ROUTINE" in text


def test_markdown_has_verdict_heading_table_hcl_fence_and_details() -> None:
    markdown = render_markdown(story_document())
    assert markdown.startswith(
        "## ⚠️ signalbox: NEEDS APPROVAL on dev: 1 stateful resource destroyed\n"
    )
    assert "| Severity | Finding | Address | What happens | What to do |" in markdown
    assert "| 🔴 high | `stateful-destroy` | `aws_cognito_user_pool.main` |" in markdown
    assert "```hcl\n" + MOVED + "```" in markdown
    assert (
        "**Changes:** 1 create, 1 delete, 3 no-op; 1 changed outside Terraform (drift)" in markdown
    )
    details = markdown[markdown.index("<details>") : markdown.index("</details>")]
    assert "`forget`" in details and "`moved`" in details and "`protection-missing`" in details
    before_details = markdown[: markdown.index("<details>")]
    assert "forget message" not in before_details
    assert markdown.rstrip().endswith("exit code 3</sub>")


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    document = story_document()
    first = document["plans"][0]["findings"][0]
    first["address"] = 'aws_s3_bucket.x["a|b"]'
    first["message"] = "one | two\nthree <script>alert(1)</script>"
    markdown = render_markdown(document)
    row = next(line for line in markdown.splitlines() if "stateful-destroy" in line)
    assert row.count(" | ") == 4 + 0  # five cells, every inner pipe escaped
    assert '`aws_s3_bucket.x["a\\|b"]`' in row
    assert "one \\| two<br>three &lt;script&gt;" in row
    assert "<script>" not in markdown


def test_markdown_of_a_routine_plan_has_no_table() -> None:
    markdown = render_markdown(routine_document())
    assert markdown.startswith("## ✅ signalbox: ROUTINE on prod: nothing risky")
    assert "| Severity |" not in markdown and "<details>" not in markdown
    assert "exit code 0</sub>" in markdown


def test_json_is_the_document_itself() -> None:
    document = story_document()
    rendered = render_json(document)
    assert rendered.endswith(b"\n")
    assert orjson.loads(rendered) == document


def test_long_attribute_lists_are_shortened_in_text() -> None:
    document = story_document()
    names = [f"attribute_{n}" for n in range(10)]
    document["plans"][0]["findings"][1]["attributes"] = names
    text = text_of(document)
    assert (
        "attributes: attribute_0, attribute_1, attribute_2, attribute_3, attribute_4, "
        "attribute_5 and 4 more" in text
    )


def test_plan_level_findings_name_the_whole_plan() -> None:
    document = story_document()
    document["verdict"] = "blocked"
    document["plans"][0]["findings"].insert(0, finding("plan-errored", "critical", "blocked", ""))
    assert "CRITICAL (the whole plan)  [plan-errored]" in text_of(document)
    assert "| 🛑 critical | `plan-errored` | (the whole plan) |" in render_markdown(document)


def test_markdown_puts_every_moved_block_in_one_fence() -> None:
    document = story_document()
    second = "moved {\n  from = aws_sqs_queue.a\n  to   = aws_sqs_queue.b\n}\n"
    document["plans"][0]["findings"].append(
        finding("probable-rename", "medium", "routine", "aws_sqs_queue.b", moved_block=second)
    )
    markdown = render_markdown(document)
    assert markdown.count("```hcl") == 1
    assert "```hcl\n" + MOVED + "\n" + second + "```" in markdown


def test_markdown_tables_stop_at_50_rows_and_say_how_many_more() -> None:
    document = story_document()
    document["plans"][0]["findings"] = [
        finding("stateful-destroy", "high", "needs-approval", f"aws_s3_bucket.b{n:03}")
        for n in range(120)
    ]
    markdown = render_markdown(document)
    assert "`aws_s3_bucket.b049`" in markdown and "`aws_s3_bucket.b050`" not in markdown
    assert "… and 70 more: `signalbox check --format json` lists them all." in markdown
    assert headline(document) == "NEEDS APPROVAL on dev: 120 stateful resources destroyed"
