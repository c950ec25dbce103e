"""Every shipped "what is lost" text, in every sentence the rules put it in, parses.

The findings are made by the real rules (``analyse`` on a plan built here) with the SHIPPED
catalog, so a new template in rules.py or groups.py is covered without listing it here: for
every catalog entry (and every Azure type and Kubernetes kind it also classifies) the plan
destroys two objects in each way a destroy is worded (no reason, each delete reason, a
deposed object, each replace cause, both replace orders).
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

import pytest
from tests.core.plan.builders import analyse_changes, resource

from signalbox.core.plan.catalog import EMBEDDING_TYPES, Catalog, StatefulType, parse_catalog
from signalbox.core.plan.findings import Finding
from signalbox.core.plan.groups import group_findings

SUFFIX = " will be lost."
# Words that, outside a clause opened by that/which/when/unless/..., make the loss a clause
# of its own ("...: everything encrypted under it becomes unreadable will be lost.").
DANGLING = re.compile(
    r"(?:^|[,(] ?)(?:(?!\b(?:that|which|who|whose|when|unless|if|once|until|where)\b)[^,()])*"
    r"\b(?:becomes?|stops?|fails?|is|are|must|can|cannot|will)\b"
)


def shipped() -> Catalog:
    text = resources.files("signalbox").joinpath("data/catalog.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text)["type"])


CATALOG = shipped()
VARIANTS: dict[str, dict[str, Any]] = {
    "delete": {"actions": ["delete"]},
    "delete-no-config": {
        "actions": ["delete"],
        "action_reason": "delete_because_no_resource_config",
    },
    "delete-count": {"actions": ["delete"], "action_reason": "delete_because_count_index"},
    "delete-deposed": {"actions": ["delete"], "deposed": "00000001"},
    "replace-paths": {"actions": ["delete", "create"], "replace_paths": [["name"], ["tags"]]},
    "replace-tainted": {
        "actions": ["delete", "create"],
        "action_reason": "replace_because_tainted",
    },
    "replace-unsaid": {"actions": ["delete", "create"]},
    "replace-create-first": {"actions": ["create", "delete"], "replace_paths": [["name"]]},
}


def subjects() -> list[tuple[str, dict[str, Any], str]]:
    """(resource type, the values that classify it, the loss the message must carry)."""
    found: list[tuple[str, dict[str, Any], str]] = []
    for entry in CATALOG.types.values():
        if entry.type not in EMBEDDING_TYPES:
            found.append((entry.type, {}, entry.loses))
    for embedding, table in CATALOG.embedded.items():
        for derived in table.values():
            name = derived.type.split(" (", 1)[1].rstrip(")")
            values: dict[str, Any] = (
                {"type": f"{name}@2024-01-01"}
                if embedding == "azapi_resource"
                else {"manifest": {"apiVersion": "v1", "kind": name}}
            )
            found.append((embedding, values, derived.loses))
    return found


SUBJECTS = subjects()


def analysed() -> tuple[list[tuple[Finding, str]], list[Finding]]:
    changes, expected = [], {}
    for number, (resource_type, values, loses) in enumerate(SUBJECTS):
        for variant, spec in VARIANTS.items():
            for copy in range(2):
                address = f"{resource_type}.s{number}_{variant.replace('-', '_')}[{copy}]"
                extra = {k: v for k, v in spec.items() if k != "actions"}
                after = values if spec["actions"] != ["delete"] else None
                changes.append(
                    resource(address, spec["actions"], before=values, after=after, **extra)
                )
                expected[address] = loses
    findings = list(analyse_changes(*changes, catalog=CATALOG).findings)
    stateful = [f for f in findings if f.id in ("stateful-destroy", "stateful-replace")]
    return [(f, expected[f.address]) for f in stateful], findings


STATEFUL, ALL = analysed()


def test_every_entry_is_rendered_in_every_variant() -> None:
    assert len(SUBJECTS) >= 300
    assert len(STATEFUL) == len(SUBJECTS) * len(VARIANTS) * 2
    assert {f.id for f, _ in STATEFUL} == {"stateful-destroy", "stateful-replace"}


def check_sentence(sentence: str, loses: str) -> None:
    assert sentence.count(": ") == 1, sentence
    assert sentence.endswith(SUFFIX), sentence
    head, loss = sentence[: -len(SUFFIX)].split(": ")
    assert loss == loses, sentence
    assert not re.search(r"[:;]|\.(\s|$)", loss), sentence
    assert loss[:1].islower(), sentence
    assert not DANGLING.search(loss), f"the loss has a verb of its own: {sentence}"
    assert " is destroyed" in head or " is replaced" in head, sentence


def test_every_stateful_message_is_one_sentence_with_the_loss_as_its_subject() -> None:
    for finding, loses in STATEFUL:
        check_sentence(finding.message, loses)


def test_grouped_explanations_parse_too() -> None:
    stored = [
        {
            "id": f.id,
            "severity": str(f.severity),
            "verdict": str(f.verdict),
            "address": f.address,
            "message": f.message,
            "hint": f.hint,
        }
        for f in ALL
    ]
    groups = [g for g in group_findings(stored) if g.id.startswith("stateful-")]
    losses = {f.message.split(": ", 1)[1][: -len(SUFFIX)] for f, _ in STATEFUL}
    assert len(groups) == len(STATEFUL) // 2, "each pair of copies is one group"
    for group in groups:
        assert group.explanation.startswith("Each of these is"), group.explanation
        assert len(group.items) == 2
        loss = group.explanation.split(": ", 1)[1][: -len(SUFFIX)]
        assert loss in losses
        check_sentence(group.explanation, loss)


@pytest.mark.parametrize(
    "loses",
    [
        "the key material after the waiting period: everything encrypted under the key "
        "becomes unreadable",
        "the user's keys; people using them are locked out",
        "the role id, trust policies stop working",
    ],
)
def test_the_checks_catch_the_sentences_the_issue_found(loses: str) -> None:
    entry = StatefulType(type="acme_thing", loses=loses)
    catalog = Catalog(types={"acme_thing": entry})
    (finding,) = analyse_changes(
        resource("acme_thing.a", ["delete"], before={}), catalog=catalog
    ).findings
    with pytest.raises(AssertionError):
        check_sentence(finding.message, loses)
