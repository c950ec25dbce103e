"""The check renderers, on documents in the contract's shape (schema signalbox.check/1)."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from markdown_it import MarkdownIt
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


def test_text_shows_verdict_then_a_line_per_group_then_paragraphs_then_counts() -> None:
    text = text_of(story_document())
    lines = text.splitlines()
    assert lines[0] == "NEEDS APPROVAL on dev: 1 stateful resource destroyed"
    summary = lines[4:9]  # after the plan's title: one line per group, most severe first
    assert [line.split()[:3] for line in summary] == [
        ["HIGH", "stateful-destroy", "aws_cognito_user_pool.main"],
        ["MEDIUM", "probable-rename", "aws_cognito_user_pool.users"],
        ["LOW", "protection-missing", "aws_cognito_user_pool.users"],
        ["INFO", "forget", "aws_sqs_queue.old"],
        ["INFO", "moved", "aws_s3_bucket.assets"],
    ]
    assert summary[0].endswith("is destroyed.")  # the loss is the paragraph's to tell
    assert "every user account is lost" in text
    assert "Add a moved block if this is a rename." in text
    assert "attributes: name, mfa_configuration" in text
    paragraphs = text[text.index("\nHIGH     aws_cognito") :]
    assert paragraphs.index("[stateful-destroy]") < paragraphs.index("[probable-rename]")
    assert paragraphs.index("[probable-rename]") < paragraphs.index("Changes:")
    # low and info groups: their summary line only, no paragraph, no hint
    assert "[protection-missing]" not in text and "[forget]" not in text
    assert "protection-missing hint." not in text and "forget hint." not in text
    assert text.count("protection-missing message") == 1
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


def test_markdown_has_verdict_heading_table_of_groups_hcl_fence_and_details() -> None:
    markdown = render_markdown(story_document())
    assert markdown.startswith(
        "## ⚠️ signalbox: NEEDS APPROVAL on dev: 1 stateful resource destroyed\n"
    )
    major, minor = tables(markdown)
    assert major[0] == [
        "Severity",
        "Finding",
        "Type",
        "How many",
        "What happens",
        "What to do",
        "Addresses",
    ]
    assert major[1] == [
        "🔴 high",
        "`stateful-destroy`",
        "`aws_cognito_user_pool`",
        "1",
        "aws_cognito_user_pool.main is destroyed: every user account is lost.",
        "Add a moved block if this is a rename.",
        "`aws_cognito_user_pool.main`",
    ]
    assert major[2][:2] == ["🟠 medium", "`probable-rename`"]
    assert major[2][-1] == "`aws_cognito_user_pool.users (was aws_cognito_user_pool.main)`"
    assert [row[1] for row in minor[1:]] == ["`protection-missing`", "`forget`", "`moved`"]
    assert "```hcl\n" + MOVED + "```" in markdown
    assert (
        "**Changes:** 1 create, 1 delete, 3 no-op; 1 changed outside Terraform (drift)" in markdown
    )
    details = markdown[markdown.index("<details>") : markdown.index("</details>")]
    assert "`forget`" in details and "`moved`" in details and "`protection-missing`" in details
    assert "forget message" not in markdown[: markdown.index("<details>")]
    assert markdown.rstrip().endswith("exit code 3</sub>")


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    document = story_document()
    first = document["plans"][0]["findings"][0]
    first["address"] = 'aws_s3_bucket.x["a|b"]'
    first["message"] = "one | two\nthree <script>alert(1)</script>"
    markdown = render_markdown(document)
    row = next(line for line in markdown.splitlines() if "stateful-destroy" in line)
    assert '`aws_s3_bucket.x["a\\|b"]`' in row
    assert "one \\| two<br>three &lt;script&gt;" in row
    assert "<script>" not in markdown
    for table in tables(markdown):
        assert all(len(found) == len(table[0]) for found in table)


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
    (major, _) = tables(render_markdown(document))
    assert major[1][:4] == ["🛑 critical", "`plan-errored`", "—", "1"]
    assert major[1][-1] == "(the whole plan)"


def test_markdown_puts_every_moved_block_in_one_fence() -> None:
    document = story_document()
    second = "moved {\n  from = aws_sqs_queue.a\n  to   = aws_sqs_queue.b\n}\n"
    document["plans"][0]["findings"].append(
        finding("probable-rename", "medium", "routine", "aws_sqs_queue.b", moved_block=second)
    )
    markdown = render_markdown(document)
    assert markdown.count("```hcl") == 1
    assert "```hcl\n" + MOVED + "\n" + second + "```" in markdown


def test_markdown_groups_findings_of_one_cause_into_one_row() -> None:
    document = story_document()
    document["plans"][0]["findings"] = [
        same_cause(f"aws_s3_bucket.logs[{n}]") for n in range(120)
    ] + [same_cause(f"aws_s3_bucket.extra_{n}") for n in range(2)]
    markdown = render_markdown(document)
    (major,) = tables(markdown)
    assert len(major) == 2  # the header and one group
    assert major[1][:4] == ["🔴 high", "`stateful-destroy`", "`aws_s3_bucket`", "122"]
    assert (
        major[1][4] == "Each of these is destroyed because its count index is no longer in range."
    )
    assert major[1][-1] == (
        "`aws_s3_bucket.extra_0`, `aws_s3_bucket.extra_1`, `aws_s3_bucket.logs[0..119]`"
    )
    assert headline(document) == "NEEDS APPROVAL on dev: 122 stateful resources destroyed"


def test_markdown_tables_stop_at_50_groups_and_say_how_many_more() -> None:
    document = story_document()
    document["plans"][0]["findings"] = [
        finding("stateful-destroy", "high", "needs-approval", f"aws_s3_bucket.b{n:03}")
        | {"message": f"aws_s3_bucket.b{n:03} is destroyed: cause number {n}."}
        for n in range(120)
    ]
    markdown = render_markdown(document)
    (major,) = tables(markdown)
    assert len(major) == 1 + 50
    assert "`aws_s3_bucket.b049`" in markdown and "`aws_s3_bucket.b050`" not in markdown
    assert (
        "… and 70 more groups (70 findings): `signalbox check --format json` lists them all."
        in markdown
    )


def test_markdown_never_exceeds_a_pull_request_comment() -> None:
    long_cause = "a cause told at length, " * 40
    plans = []
    for number in range(6):
        plan = routine_document()["plans"][0] | {"source": f"unit-{number}.json"}
        plan["findings"] = [
            finding("stateful-destroy", "high", "needs-approval", f"aws_s3_bucket.b{n}")
            | {"message": f"aws_s3_bucket.b{n} is destroyed: {long_cause}{n}."}
            for n in range(60)
        ] + [
            finding("replace", "low", "routine", f"aws_instance.i{n}")
            | {"message": f"aws_instance.i{n} is replaced: {long_cause}{n}."}
            for n in range(60)
        ]
        plans.append(plan)
    document = routine_document() | {"verdict": "needs-approval", "plans": plans}
    markdown = render_markdown(document)
    assert len(markdown) <= 65_536
    for table in tables(markdown):  # fewer rows, never a broken table
        assert all(len(row) == 7 for row in table)
    assert markdown.count("more groups (") == 12  # every table says what it left out
    assert markdown.rstrip().endswith("exit code 3</sub>")


def same_cause(address: str) -> dict[str, Any]:
    return finding(
        "stateful-destroy",
        "high",
        "needs-approval",
        address,
        message=f"{address} is destroyed because its count index is no longer in range.",
        hint="Check that the count was meant to shrink.",
    )


def one_plan(findings: list[dict[str, Any]]) -> dict[str, Any]:
    document = story_document()
    document["plans"][0]["findings"] = findings
    return document


@pytest.mark.parametrize("name", ["logs_{n}", "logs[{n}]", 'logs["{n}"]'])
def test_the_text_report_grows_with_groups_not_with_resources(name: str) -> None:
    lengths = {}
    for size in (10, 100, 1000):
        findings = [same_cause("aws_s3_bucket." + name.format(n=n)) for n in range(size)]
        findings += [
            finding("delete", "low", "routine", f"aws_sqs_queue.q{n}") for n in range(size)
        ]
        lengths[size] = len(text_of(one_plan(findings)).splitlines())
    assert lengths[10] == lengths[100] == lengths[1000], lengths
    # and not with the plans' documents either: the same plan as 1,000 findings
    assert lengths[1000] < 25


def test_many_addresses_are_listed_in_natural_order_then_and_more() -> None:
    findings = [same_cause(f"aws_s3_bucket.logs_{n}") for n in (10, 2, 1, 11, 3, 0, 9, 8, 7, 6)]
    findings += [same_cause(f"aws_s3_bucket.logs_{n}") for n in range(12, 490)]
    text = text_of(one_plan(findings))
    assert text.count("[stateful-destroy]") == 1
    assert "aws_s3_bucket ×488  [stateful-destroy]" in text
    assert (
        "aws_s3_bucket.logs_0, aws_s3_bucket.logs_1, aws_s3_bucket.logs_2, aws_s3_bucket.logs_3, "
        "aws_s3_bucket.logs_6, aws_s3_bucket.logs_7" in text.replace("\n         ", " ")
    )
    assert "and 480 more (--format json lists every one)" in text


def test_a_run_of_count_indexes_is_listed_as_one_exact_range() -> None:
    indexes = [*range(12), 14, 15, 20, 21, 22]
    findings = [same_cause(f"aws_s3_bucket.logs[{n}]") for n in reversed(indexes)]
    text = text_of(one_plan(findings))
    assert (
        "aws_s3_bucket.logs[0..11], aws_s3_bucket.logs[14], aws_s3_bucket.logs[15], "
        "aws_s3_bucket.logs[20..22]\n" in text
    )
    assert "more (--format json" not in text


def test_a_group_prints_its_first_moved_blocks_paste_ready_then_says_how_many_more() -> None:
    findings = [
        finding(
            "probable-rename",
            "medium",
            "routine",
            f"aws_sqs_queue.new_{n}",
            message=f"aws_sqs_queue.old_{n} is deleted and aws_sqs_queue.new_{n} created with "
            "the same attributes: probably a rename.",
            related=[f"aws_sqs_queue.old_{n}"],
            moved_block=(
                f"moved {{\n  from = aws_sqs_queue.old_{n}\n  to   = aws_sqs_queue.new_{n}\n}}\n"
            ),
        )
        for n in range(40)
    ]
    text = text_of(one_plan(findings))
    assert text.count("[probable-rename]") == 1
    assert text.count("moved {") == 5
    assert "\n         moved {\n           from = aws_sqs_queue.old_0\n" in text
    assert "and 35 more moved blocks (--format json lists every one)" in text
    assert not any(line != line.rstrip() for line in text.splitlines())


def long_reason() -> dict[str, Any]:
    return finding(
        "delete",
        "low",
        "routine",
        "aws_sqs_queue.q",
        message="aws_sqs_queue.q is destroyed because " + "of a very long reason " * 20 + ".",
    )


def test_summary_lines_are_cut_to_the_terminal_not_wrapped() -> None:
    long = long_reason()
    buffer = io.StringIO()
    terminal = Console(file=buffer, width=80, color_system=None, force_terminal=True)
    render_text(one_plan([long]), terminal)
    (line,) = [line for line in buffer.getvalue().splitlines() if line.startswith("LOW")]
    assert len(line) == 80 and line.endswith("…")
    assert line.startswith("LOW      delete  aws_sqs_queue.q  is destroyed because of a very long")


def test_summary_lines_in_a_ci_log_are_printed_whole() -> None:
    long = long_reason()
    buffer = io.StringIO()
    render_text(one_plan([long]), Console(file=buffer, width=80, color_system=None))
    (line,) = [line for line in buffer.getvalue().splitlines() if line.startswith("LOW")]
    assert line.endswith("of a very long reason .") and "…" not in line


def test_the_counts_line_is_what_the_document_says() -> None:
    document = routine_document(dict.fromkeys(COUNTS, 0) | {"update": 2, "unknown": 1})
    assert "Changes: 2 update, 1 unknown\n" in text_of(document)
    assert "**Changes:** 2 update, 1 unknown" in render_markdown(document)


def test_several_plans_keep_a_summary_and_paragraphs_each() -> None:
    document = story_document()
    second = story_document()["plans"][0] | {"source": "run-all.json", "index": 1}
    second["findings"] = [same_cause(f"aws_s3_bucket.logs[{n}]") for n in range(30)]
    document["plans"].append(second)
    text = text_of(document)
    first_part, second_part = text.split("Plan 2 of 2: run-all.json")
    assert "[stateful-destroy]" in first_part and "aws_s3_bucket.logs" not in first_part
    assert second_part.count("[stateful-destroy]") == 1
    assert "HIGH     stateful-destroy  aws_s3_bucket ×30  is destroyed because" in second_part


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of ``markdown`` as GitHub would render it: rows of cell texts."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] = []
    row: list[str] = []
    inside = False
    for token in MarkdownIt("commonmark", {"html": False}).enable("table").parse(markdown):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            inside = True
        elif token.type == "inline" and inside:
            row.append(token.content)
            inside = False
        elif token.type in ("th_close", "td_close") and inside:
            row.append("")
            inside = False
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type == "table_close":
            found.append(rows)
    return found


def test_markdown_cut_as_a_last_resort_closes_what_it_was_inside() -> None:
    long_cause = "a cause told at length, " * 40
    plans = []
    for number in range(80):  # too many plans for one row each
        plan = routine_document()["plans"][0] | {"source": f"unit-{number}.json"}
        plan["findings"] = [
            finding("replace", "low", "routine", f"aws_instance.i{n}")
            | {"message": f"aws_instance.i{n} is replaced: {long_cause}{n}."}
            for n in range(3)
        ]
        plans.append(plan)
    markdown = render_markdown(routine_document() | {"plans": plans})
    assert len(markdown) <= 65_536
    assert "cut at 65,536 characters" in markdown
    assert markdown.count("```") % 2 == 0
    assert markdown.count("<details>") == markdown.count("</details>")
