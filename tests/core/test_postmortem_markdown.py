"""The postmortem's Markdown, rendered by a real Markdown library as GitHub would (CommonMark
with tables, raw HTML off): the headings are headings, the summary and the timeline are
tables, and what people typed cannot open a tag or break a table."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from tests.core.factories import incident
from tests.core.test_postmortem import DESTROYING, POOL, a_deploy, an_event, facts, posted

from signalbox.core.incidents import ActionStatus, ActionView, IncidentStatus
from signalbox.core.postmortem import draft
from signalbox.core.postmortem_markdown import render_markdown

GITHUB = MarkdownIt("commonmark", {"html": False}).enable("table")


def story(note="fix pushed, pipeline running", title="users cannot log in"):
    inc = incident(opened=3, status=IncidentStatus.RESOLVED)
    inc = replace(inc, title=title)
    return draft(
        facts(
            inc=inc,
            deploys=[a_deploy(7, started=0, plan=DESTROYING)],
            events=[
                an_event(1, -1, "approval.granted", "lead approved the plan of deploy 7.", "lead"),
                an_event(2, 0, "deploy.started", "Deploy 7 (main @ c0ffee1) started.", "ci-dev"),
                an_event(3, 3, "incident.opened", "alice opened incident 3.", "alice"),
            ],
            updates=[posted(3, "investigating", "opened"), posted(24, "mitigated", note=note)],
            actions=[
                ActionView(
                    1, 3, "protect the pool", ActionStatus.ACCEPTED, "bob", date(2026, 11, 20)
                )
            ],
            now=24 * 60 * 5,
        )
    )


def headings(tokens):
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            found.append((token.tag, tokens[index + 1].content))
    return found


def tables(tokens):
    """Each table as its rows of cell texts."""
    result, rows, row, inside = [], [], [], False
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            inside = True
        elif token.type == "inline" and inside:
            row.append(tokens[index].content)
            inside = False
        elif token.type in ("th_close", "td_close") and inside:
            row.append("")
            inside = False
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type == "table_close":
            result.append(rows)
    return result


def test_the_draft_renders_with_its_headings_in_order():
    tokens = GITHUB.parse(render_markdown(story()))
    assert headings(tokens) == [
        ("h1", "Postmortem: incident 3 on dev: users cannot log in"),
        ("h2", "Summary"),
        ("h2", "Impact"),
        ("h2", "The changes before the break"),
        ("h2", "Timeline (Europe/Berlin)"),
        ("h2", "Updates as posted"),
        ("h2", "What went well"),
        ("h2", "What went badly"),
        ("h2", "Where we got lucky"),
        ("h2", "Follow-up actions"),
    ]


def test_the_summary_changes_timeline_and_actions_are_tables():
    html = GITHUB.render(render_markdown(story()))
    summary, changes, timeline, actions = tables(GITHUB.parse(render_markdown(story())))
    assert summary[0] == ["Field", "Value"]
    assert dict(summary[1:])["Commander"] == "alice"
    assert dict(summary[1:])["Duration"] == "40m"
    assert changes[0] == ["Time", "Kind", "Who", "What", "Destroyed or removed"]
    assert changes[2][:3] == ["14:44 CET", "deploy", "frontend-dev"]
    assert changes[2][4] == f"`{POOL}`"
    assert timeline[0] == ["Time", "Who", "What happened"]
    assert [row[0] for row in timeline[1:]] == ["14:43 CET", "14:44 CET", "14:47 CET"]
    assert actions[1][-1] == "accepted (**overdue**)"
    assert f"<code>{POOL}</code>" in html
    assert "<strong>Time to detect:</strong> 3m" in html


@given(text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip()))
def test_what_people_typed_never_opens_a_tag_nor_breaks_a_table(text):
    drafted = story(note=f"<b>{text}</b> | x", title=f"<script>{text}")
    rendered = GITHUB.render(render_markdown(drafted))
    assert "<script>" not in rendered and "<b>" not in rendered
    found = tables(GITHUB.parse(render_markdown(drafted)))
    assert all(len(row) == len(table[0]) for table in found for row in table)
    assert len(found) == 4


def test_an_open_incident_without_changes_says_so():
    drafted = draft(facts(inc=incident(opened=3), now=10))
    markdown = render_markdown(drafted)
    assert "not yet (investigating)" in markdown and "7m so far" in markdown
    assert "No deploy or state write ran in the window" in markdown
    assert "None yet: add them with `signalbox action add 3 TEXT`." in markdown
