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
    "drift": ("change outside Terraform", "changes outside Terraform"),
}
MARKDOWN_ROWS = 50
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


def _minor_summary(findings: Iterable[Mapping[str, Any]]) -> str:
    by_id = Counter(str(f.get("id")) for f in findings)
    return ", ".join(_phrase(fid, by_id[fid]) for fid in _order(by_id))


def _plan_title(plan: Mapping[str, Any], index: int, total: int) -> str:
    source = str(plan.get("source", "<plan>"))
    if plan.get("index"):
        source += f" (document {int(plan['index']) + 1})"
    tool = plan.get("terraform_version")
    detail = f"Terraform {tool}, " if tool else ""
    detail += f"format {plan.get('format_version', '?')}"
    prefix = f"Plan {index + 1} of {total}: " if total > 1 else ""
    return f"{prefix}{source} ({detail})"


# ------------------------------------------------------------------------------ text (Rich)


def render_text(document: Mapping[str, Any], console: Console) -> None:
    """Print the report for a person at a terminal."""
    from rich.text import Text

    verdict = str(document.get("verdict", "routine"))
    console.print(Text(headline(document), style=VERDICT_STYLES.get(verdict, "bold")))
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

    findings = list(plan.get("findings", []))
    major = [f for f in findings if f.get("severity") in THAT_MATTER]
    minor = [f for f in findings if f.get("severity") not in THAT_MATTER]
    for finding in major:
        _print_finding(finding, console)
    if minor:
        line = Text("\nAlso: ", style="dim")
        line.append(_minor_summary(minor), style="dim")
        line.append(" (--format json lists them).", style="dim")
        console.print(line)
    counts = Text("\nChanges: ", style="bold")
    counts.append(counts_line(plan.get("counts", {})))
    drift = plan.get("drift") or []
    if drift:
        counts.append(f"; {len(drift)} changed outside Terraform (drift)", style="yellow")
    console.print(counts)


def _names(attributes: Iterable[Any], shown: int = 6) -> str:
    """Attribute names, the first few and how many more: a rename can agree on dozens."""
    names = [str(name) for name in attributes]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _print_finding(finding: Mapping[str, Any], console: Console) -> None:
    from rich.padding import Padding
    from rich.text import Text

    severity = str(finding.get("severity", "info"))
    head = Text()
    head.append(f"{severity.upper():8}", style=SEVERITY_STYLES.get(severity, ""))
    head.append(f" {finding.get('address') or '(the whole plan)'}", style="bold")
    head.append(f"  [{finding.get('id', '')}]", style="dim")
    console.print()
    console.print(head)
    body = Text(str(finding.get("message", "")))
    if finding.get("hint"):
        body.append("\n→ ", style="bold")
        body.append(str(finding["hint"]))
    if finding.get("attributes"):
        body.append("\nattributes: ", style="dim")
        body.append(_names(finding["attributes"]), style="dim")
    console.print(Padding(body, (0, 0, 0, 9), expand=False))
    if finding.get("moved_block"):  # line by line: no padding spaces in what is pasted
        console.print()
        for line in str(finding["moved_block"]).rstrip("\n").splitlines():
            console.print(Text(" " * 9 + line, style="green"), overflow="ignore", crop=False)


# ------------------------------------------------------------------------------ markdown


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell (no raw HTML, no cell breaks)."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _code(text: Any) -> str:
    """An inline code span for a table cell (addresses may hold quotes and brackets)."""
    value = str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ")
    return f"`{value}`"


def _address_cell(finding: Mapping[str, Any]) -> str:
    return _code(finding["address"]) if finding.get("address") else "(the whole plan)"


def _findings_table(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """A table of at most MARKDOWN_ROWS findings (a PR comment holds 65,536 characters)."""
    lines = [
        "| Severity | Finding | Address | What happens | What to do |",
        "| --- | --- | --- | --- | --- |",
    ]
    for finding in findings[:MARKDOWN_ROWS]:
        severity = str(finding.get("severity", "info"))
        lines.append(
            f"| {SEVERITY_ICONS.get(severity, '')} {severity} | {_code(finding.get('id', ''))} "
            f"| {_address_cell(finding)} | {_cell(finding.get('message', ''))} "
            f"| {_cell(finding.get('hint', ''))} |"
        )
    if len(findings) > MARKDOWN_ROWS:
        lines += ["", f"… and {len(findings) - MARKDOWN_ROWS} more: {ALL_OF_THEM}."]
    return lines


def _moved_blocks(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every suggested ``moved`` block in one fence, to paste into a moved.tf as is."""
    blocks = [str(f["moved_block"]).rstrip("\n") for f in findings if f.get("moved_block")]
    if not blocks:
        return []
    shown = "\n\n".join(blocks[:MARKDOWN_ROWS]).replace("```", "'''")
    lines = [
        "Probable renames: add these `moved` blocks to keep the objects.",
        "",
        "```hcl",
        shown,
        "```",
        "",
    ]
    if len(blocks) > MARKDOWN_ROWS:
        lines += [f"… and {len(blocks) - MARKDOWN_ROWS} more: {ALL_OF_THEM}.", ""]
    return lines


def _markdown_plan(plan: Mapping[str, Any], index: int, total: int) -> list[str]:
    findings = list(plan.get("findings", []))
    major = [f for f in findings if f.get("severity") in THAT_MATTER]
    minor = [f for f in findings if f.get("severity") not in THAT_MATTER]
    verdict = str(plan.get("verdict", "routine"))
    lines = [f"### {_cell(_plan_title(plan, index, total))}", ""]
    if total > 1:
        lines += [f"Verdict: **{VERDICT_WORDS.get(verdict, verdict).lower()}**", ""]
    if major:
        lines += [*_findings_table(major), ""]
    lines += _moved_blocks(findings)
    changes = counts_line(plan.get("counts", {}))
    drift = plan.get("drift") or []
    if drift:
        changes += f"; {len(drift)} changed outside Terraform (drift)"
    lines += [f"**Changes:** {changes}", ""]
    if minor:
        lines += [
            f"<details><summary>{_cell(_minor_summary(minor))} (low and info)</summary>",
            "",
            *_findings_table(minor),
            "",
            "</details>",
            "",
        ]
    return lines


def render_markdown(document: Mapping[str, Any]) -> str:
    """A pull-request comment or ``$GITHUB_STEP_SUMMARY`` section."""
    verdict = str(document.get("verdict", "routine"))
    icon = VERDICT_ICONS.get(verdict, "")
    lines = [f"## {icon} signalbox: {_cell(headline(document))}", ""]
    plans = list(document.get("plans", []))
    for index, plan in enumerate(plans):
        lines += _markdown_plan(plan, index, len(plans))
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
