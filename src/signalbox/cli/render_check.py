"""Render a check document (schema ``signalbox.check/1``) as text, Markdown or JSON.

The renderers take the JSON document only, never core objects, so any producer of that
document (the CLI, the server's answer to ``gate``) can be shown the same way. The document
holds no attribute values (only attribute names), and nothing here adds any.

Text (Rich) is read in ten seconds: the verdict first, then the findings that matter
(critical, high, medium) with their fix hint and ``moved`` block, then the low and info
findings as counts, then the change counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from signalbox.cli.exit_codes import ExitCode
from signalbox.core.plan.groups import (
    SHOWN_ADDRESSES,
    FindingGroup,
    compact_addresses,
    group_findings,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "VERDICT_EXIT_CODES",
    "headline",
    "render_json",
    "render_markdown",
    "render_text",
]

THAT_MATTER = frozenset({"critical", "high", "medium"})
VERDICT_WORDS = {"routine": "ROUTINE", "needs-approval": "NEEDS APPROVAL", "blocked": "BLOCKED"}
VERDICT_STYLES = {"routine": "bold green", "needs-approval": "bold yellow", "blocked": "bold red"}
VERDICT_ICONS = {"routine": "✅", "needs-approval": "⚠️", "blocked": "⛔"}
SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
SEVERITY_ICONS = {"critical": "🛑", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}
# finding id -> (singular, plural) for the headline: "1 stateful resource destroyed"
PHRASES = {
    "protected-destroy": ("protected resource destroyed", "protected resources destroyed"),
    "plan-errored": ("errored plan", "errored plans"),
    "stateful-destroy": ("stateful resource destroyed", "stateful resources destroyed"),
    "stateful-replace": ("stateful resource replaced", "stateful resources replaced"),
    "protection-disabled": ("protection switched off", "protections switched off"),
    "deferred": ("deferred change", "deferred changes"),
    "plan-incomplete": ("incomplete plan", "incomplete plans"),
    "probable-rename": ("probable rename", "probable renames"),
    "protection-missing": ("resource without protection", "resources without protection"),
    "replace": ("resource replaced", "resources replaced"),
    "delete": ("resource deleted", "resources deleted"),
    "forget": ("resource forgotten", "resources forgotten"),
    "moved": ("resource moved", "resources moved"),
    "import": ("resource imported", "resources imported"),
    "unknown-action": ("change with an unknown action", "changes with unknown actions"),
    "drift": ("change outside Terraform", "changes outside Terraform"),
}
MARKDOWN_ROWS = 50
MARKDOWN_ADDRESSES = 3  # addresses (or ranges) in a table cell
MARKDOWN_LIMIT = 65_536  # characters in a GitHub comment
SHOWN_MOVED_BLOCKS = 5
SUMMARY_TARGET_WIDTH = 40  # the target column of the summary lines aligns up to this
INDENT = 9
READING_WIDTH = 120  # paragraphs wrap here at the most, even in a wider terminal or a CI log
WHOLE_PLAN = "(the whole plan)"
ALL_OF_THEM = "`signalbox check --format json` lists them all"
VERDICT_EXIT_CODES = {
    "routine": ExitCode.OK,
    "needs-approval": ExitCode.NEEDS_APPROVAL,
    "blocked": ExitCode.BLOCKED,
}
COUNT_ORDER = (
    "create",
    "update",
    "replace",
    "delete",
    "forget",
    "import",
    "moved",
    "unknown",
    "read",
    "no-op",
)


def _findings(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [finding for plan in document.get("plans", []) for finding in plan.get("findings", [])]


def _phrase(finding_id: str, count: int) -> str:
    singular, plural = PHRASES.get(finding_id, (f"{finding_id} finding", f"{finding_id} findings"))
    return f"{count} {singular if count == 1 else plural}"


def _order(finding_ids: Iterable[str]) -> list[str]:
    known = list(PHRASES)
    return sorted(
        finding_ids, key=lambda fid: (known.index(fid) if fid in known else len(known), fid)
    )


def headline(document: Mapping[str, Any]) -> str:
    """One line, verdict first: ``NEEDS APPROVAL on dev: 1 stateful resource destroyed``."""
    verdict = str(document.get("verdict", "routine"))
    findings = _findings(document)
    deciding = [f for f in findings if f.get("verdict") == verdict]
    if verdict == "routine":
        deciding = [f for f in findings if f.get("severity") in THAT_MATTER]
    counted = Counter(str(f.get("id")) for f in deciding)
    reasons = ", ".join(_phrase(fid, counted[fid]) for fid in _order(counted))
    if not reasons:
        total = _total_counts(document)
        changed = sum(n for action, n in total.items() if action not in ("no-op", "read"))
        reasons = "no changes" if not changed else "nothing risky"
    words = VERDICT_WORDS.get(verdict, verdict.upper())
    return f"{words} on {document.get('environment', '?')}: {reasons}"


def _total_counts(document: Mapping[str, Any]) -> Counter[str]:
    total: Counter[str] = Counter()
    for plan in document.get("plans", []):
        total.update({key: int(value) for key, value in plan.get("counts", {}).items()})
    return total


def counts_line(counts: Mapping[str, int]) -> str:
    """``1 create, 1 delete, 3 no-op`` (zero counts left out) or ``no changes``."""
    keys = [key for key in COUNT_ORDER if key in counts] + sorted(set(counts) - set(COUNT_ORDER))
    parts = [f"{counts[key]} {key}" for key in keys if counts[key]]
    return ", ".join(parts) if parts else "no changes"


def _policy_text(document: Mapping[str, Any]) -> str:
    """The sentence naming the policy the check applied (``signalbox check`` adds it)."""
    policy = document.get("policy")
    return str(policy.get("text") or "") if isinstance(policy, Mapping) else ""


def _plan_title(plan: Mapping[str, Any], index: int, total: int) -> str:
    source = str(plan.get("source", "<plan>"))
    if plan.get("index"):
        source += f" (document {int(plan['index']) + 1})"
    tool = plan.get("terraform_version")
    detail = f"Terraform {tool}, " if tool else ""
    detail += f"format {plan.get('format_version', '?')}"
    prefix = f"Plan {index + 1} of {total}: " if total > 1 else ""
    return f"{prefix}{source} ({detail})"


# ------------------------------------------------------------------------------ groups


def _groups(plan: Mapping[str, Any]) -> list[FindingGroup]:
    return group_findings(plan.get("findings") or ())


def _target(group: FindingGroup) -> str:
    """What a group is about, in a few characters: the address of a group of one, else the
    resource type and how many (``aws_instance ×12``)."""
    if len(group.items) == 1:
        return group.items[0].address or WHOLE_PLAN
    return f"{group.resource_type or 'findings'} ×{len(group.items)}"


def _address_entries(group: FindingGroup) -> list[tuple[str, int]]:
    """The group's addresses as entries to list (runs of count indexes as one range), a
    rename's previous address after its new one."""
    if any(item.related for item in group.items):
        return [
            (f"{item.address} (was {', '.join(item.related)})" if item.related else item.address, 1)
            for item in group.items
        ]
    return compact_addresses(item.address for item in group.items if item.address)


def _listed(entries: Sequence[tuple[str, int]], shown: int) -> tuple[list[str], int]:
    """The first ``shown`` entries, and how many addresses the rest stand for."""
    return [entry for entry, _ in entries[:shown]], sum(n for _, n in entries[shown:])


def _more(count: int, what: str = "more") -> str:
    return f"and {count} {what} (--format json lists every one)"


# ------------------------------------------------------------------------------ text (Rich)


def render_text(document: Mapping[str, Any], console: Console) -> None:
    """Print the report for a person at a terminal: the verdict, then for each plan a line
    per group of findings (most severe first), a paragraph per critical, high or medium
    group, and the change counts. Its length grows with the groups, not the resources."""
    from rich.text import Text

    verdict = str(document.get("verdict", "routine"))
    console.print(Text(headline(document), style=VERDICT_STYLES.get(verdict, "bold")))
    policy = _policy_text(document)
    if policy:
        console.print(Text(policy, style="dim"))
    plans = list(document.get("plans", []))
    for index, plan in enumerate(plans):
        console.print()
        title = Text(
            _plan_title(plan, index, len(plans)), style="bold" if len(plans) > 1 else "dim"
        )
        if len(plans) > 1:
            plan_verdict = str(plan.get("verdict", "routine"))
            title.append(
                f"  {VERDICT_WORDS.get(plan_verdict, plan_verdict)}",
                style=VERDICT_STYLES.get(plan_verdict, "bold"),
            )
        console.print(title)
        _print_plan(plan, console)
    if not plans:
        console.print(Text("No plans were checked.", style="dim"))


def _print_plan(plan: Mapping[str, Any], console: Console) -> None:
    from rich.text import Text

    groups = _groups(plan)
    if groups:
        console.print()
        _print_summary(groups, console)
    for group in groups:
        if group.severity in THAT_MATTER:
            _print_group(group, console)
    counts = Text("\nChanges: ", style="bold")
    counts.append(counts_line(plan.get("counts", {})))
    drift = plan.get("drift") or []
    if drift:
        counts.append(f"; {len(drift)} changed outside Terraform (drift)", style="yellow")
    console.print(counts)


def _print_summary(groups: Sequence[FindingGroup], console: Console) -> None:
    """A line per group, most severe first. At a terminal each is cut at its width (the
    paragraphs below, or the JSON for low and info groups, say the rest); in a CI log or a
    file it is printed whole."""
    from rich.text import Text

    id_width = max(len(group.id) for group in groups)
    targets = [_target(group) for group in groups]
    target_width = min(SUMMARY_TARGET_WIDTH, max(len(target) for target in targets))
    for group, target in zip(groups, targets, strict=True):
        line = Text()
        severity = group.severity or "info"
        line.append(f"{severity.upper():8}", style=SEVERITY_STYLES.get(severity, ""))
        line.append(f" {group.id:{id_width}}", style="dim")
        line.append(f"  {target:{target_width}}", style="bold")
        line.append(f"  {group.summary}")
        if console.is_terminal:
            console.print(line, no_wrap=True, overflow="ellipsis")
        else:  # a CI log or a file: nobody's screen to fit, and a cut line says less
            console.print(line, no_wrap=True, crop=False, overflow="ignore")


def _names(attributes: Iterable[Any], shown: int = 6) -> str:
    """Attribute names, the first few and how many more: a rename can agree on dozens."""
    names = [str(name) for name in attributes]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` (an address is never broken)."""
    import textwrap

    return textwrap.wrap(
        text, width=max(20, width), break_long_words=False, break_on_hyphens=False
    ) or [""]


def _print_group(group: FindingGroup, console: Console) -> None:
    """One group: its heading, the explanation and hint told once, its addresses (the first
    few, compactly) and its ``moved`` blocks, ready to paste."""
    from rich.text import Text

    severity = group.severity or "info"
    head = Text()
    head.append(f"{severity.upper():8}", style=SEVERITY_STYLES.get(severity, ""))
    head.append(f" {_target(group)}", style="bold")
    head.append(f"  [{group.id}]", style="dim")
    console.print()
    console.print(head)
    width = min(console.width, READING_WIDTH) - INDENT
    body: list[tuple[str, str]] = [(line, "") for line in _wrapped(group.explanation, width)]
    if group.hint:
        body += [(line, "") for line in _wrapped("→ " + group.hint, width)]
    if group.attributes:
        names = _wrapped("attributes: " + _names(group.attributes), width)
        body += [(line, "dim") for line in names]
    blocks = group.moved_blocks
    every_item_moves = len(blocks) == len(group.items)
    if len(group.items) > 1 and not every_item_moves:
        shown, rest = _listed(_address_entries(group), SHOWN_ADDRESSES)
        body += [(line, "") for line in _wrapped(", ".join(shown), width)]
        if rest:
            body.append((_more(rest), "dim"))
    for line, style in body:
        console.print(Text(" " * INDENT + line, style=style), overflow="ignore", crop=False)
    for block in blocks[:SHOWN_MOVED_BLOCKS]:  # line by line: no padding in what is pasted
        console.print()
        for line in block.rstrip("\n").splitlines():
            console.print(Text(" " * INDENT + line, style="green"), overflow="ignore", crop=False)
    if len(blocks) > SHOWN_MOVED_BLOCKS:
        more = _more(len(blocks) - SHOWN_MOVED_BLOCKS, "more moved blocks")
        console.print()
        console.print(Text(" " * INDENT + more, style="dim"), overflow="ignore", crop=False)


# ------------------------------------------------------------------------------ markdown


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell (no raw HTML, no cell breaks)."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _code(text: Any) -> str:
    """An inline code span for a table cell (addresses may hold quotes and brackets)."""
    value = str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ")
    return f"`{value}`"


def _addresses_cell(group: FindingGroup) -> str:
    if not any(item.address for item in group.items):
        return WHOLE_PLAN
    shown, rest = _listed(_address_entries(group), MARKDOWN_ADDRESSES)
    cell = ", ".join(_code(entry) for entry in shown)
    return cell + (f" and {rest} more" if rest else "")


def _groups_table(groups: Sequence[FindingGroup], rows: int) -> list[str]:
    """A table of at most ``rows`` groups (a PR comment holds 65,536 characters)."""
    lines = [
        "| Severity | Finding | Type | How many | What happens | What to do | Addresses |",
        "| --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for group in groups[:rows]:
        severity = group.severity or "info"
        kind = _code(group.resource_type) if group.resource_type else "—"
        lines.append(
            f"| {SEVERITY_ICONS.get(severity, '')} {_cell(severity)} | {_code(group.id)} "
            f"| {kind} | {len(group.items)} | {_cell(group.explanation)} "
            f"| {_cell(group.hint)} | {_addresses_cell(group)} |"
        )
    if len(groups) > rows:
        rest = sum(len(group.items) for group in groups[rows:])
        lines += ["", f"… and {len(groups) - rows} more groups ({rest} findings): {ALL_OF_THEM}."]
    return lines


def _moved_blocks(groups: Sequence[FindingGroup], rows: int) -> list[str]:
    """The suggested ``moved`` blocks in one fence, to paste into a moved.tf as is."""
    blocks = [block.rstrip("\n") for group in groups for block in group.moved_blocks]
    if not blocks:
        return []
    shown = "\n\n".join(blocks[:rows]).replace("```", "'''")
    lines = [
        "Probable renames: add these `moved` blocks to keep the objects.",
        "",
        "```hcl",
        shown,
        "```",
        "",
    ]
    if len(blocks) > rows:
        lines += [f"… and {len(blocks) - rows} more: {ALL_OF_THEM}.", ""]
    return lines


def _minor_summary(groups: Sequence[FindingGroup]) -> str:
    by_id: Counter[str] = Counter()
    for group in groups:
        by_id[group.id] += len(group.items)
    return ", ".join(_phrase(fid, by_id[fid]) for fid in _order(by_id))


def _markdown_plan(
    plan: Mapping[str, Any], groups: Sequence[FindingGroup], index: int, total: int, rows: int
) -> list[str]:
    major = [g for g in groups if g.severity in THAT_MATTER]
    minor = [g for g in groups if g.severity not in THAT_MATTER]
    verdict = str(plan.get("verdict", "routine"))
    lines = [f"### {_cell(_plan_title(plan, index, total))}", ""]
    if total > 1:
        lines += [f"Verdict: **{VERDICT_WORDS.get(verdict, verdict).lower()}**", ""]
    if major:
        lines += [*_groups_table(major, rows), ""]
    lines += _moved_blocks(groups, rows)
    changes = counts_line(plan.get("counts", {}))
    drift = plan.get("drift") or []
    if drift:
        changes += f"; {len(drift)} changed outside Terraform (drift)"
    lines += [f"**Changes:** {changes}", ""]
    if minor:
        lines += [
            f"<details><summary>{_cell(_minor_summary(minor))} (low and info)</summary>",
            "",
            *_groups_table(minor, rows),
            "",
            "</details>",
            "",
        ]
    return lines


def render_markdown(document: Mapping[str, Any]) -> str:
    """A pull-request comment or ``$GITHUB_STEP_SUMMARY`` section: a table of groups per
    plan, the ``moved`` blocks, the low and info groups folded; never longer than a comment
    may be (fewer rows until it fits, then cut)."""
    rows = MARKDOWN_ROWS
    grouped = [_groups(plan) for plan in document.get("plans", [])]  # once, whatever the rows
    markdown = _markdown(document, grouped, rows)
    while len(markdown) > MARKDOWN_LIMIT and rows > 1:
        rows = max(1, rows // 2)
        markdown = _markdown(document, grouped, rows)
    if len(markdown) > MARKDOWN_LIMIT:  # even one row per table is too much (many plans)
        markdown = _cut(markdown, MARKDOWN_LIMIT)
    return markdown


def _cut(markdown: str, limit: int) -> str:
    """``markdown`` cut at a line end to fit ``limit``, with any code fence or ``<details>``
    it was inside closed, so the rest of the comment renders as it should."""
    note = f"\n… cut at {limit:,} characters: {ALL_OF_THEM}.\n"
    room = limit - len(note) - len("```\n</details>\n")
    kept = markdown[: markdown.rfind("\n", 0, room) + 1]
    if kept.count("```") % 2:
        kept += "```\n"
    if kept.count("<details>") > kept.count("</details>"):
        kept += "</details>\n"
    return kept + note


def _markdown(
    document: Mapping[str, Any], grouped: Sequence[Sequence[FindingGroup]], rows: int
) -> str:
    verdict = str(document.get("verdict", "routine"))
    icon = VERDICT_ICONS.get(verdict, "")
    lines = [f"## {icon} signalbox: {_cell(headline(document))}", ""]
    if _policy_text(document):
        lines += [f"<sub>{_cell(_policy_text(document))}</sub>", ""]
    plans = list(document.get("plans", []))
    for index, (plan, groups) in enumerate(zip(plans, grouped, strict=True)):
        lines += _markdown_plan(plan, groups, index, len(plans), rows)
    if not plans:
        lines += ["No plans were checked.", ""]
    lines.append(
        f"<sub>schema {_cell(document.get('schema', '?'))} · exit code "
        f"{int(VERDICT_EXIT_CODES.get(verdict, ExitCode.FAILURE))}</sub>"
    )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ json


def render_json(document: Mapping[str, Any]) -> bytes:
    """The document itself, as indented JSON with a final newline."""
    import orjson

    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
