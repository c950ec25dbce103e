"""Findings grouped for a reader: by id, resource type and cause, most severe first, addresses
in natural order, a limit with "and K more"."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.core.plan.builders import CATALOG, analyse_changes, resource

from signalbox.core.plan.groups import (
    compact_addresses,
    group_findings,
    natural_key,
    resource_type,
)


def finding(fid: str, address: str, message: str, **extra: Any) -> dict[str, Any]:
    severity = {"stateful-destroy": "high", "delete": "low", "probable-rename": "medium"}
    verdict = "needs-approval" if fid == "stateful-destroy" else "routine"
    return {
        "id": fid,
        "severity": severity.get(fid, "info"),
        "verdict": verdict,
        "address": address,
        "message": message,
        "hint": "Check that this destroy is intended.",
        **extra,
    }


def destroyed(address: str, why: str = "its count index is no longer in range") -> dict[str, Any]:
    return finding("delete", address, f"{address} is destroyed because {why}.")


def test_the_same_cause_on_many_addresses_is_one_group_in_natural_order():
    workers = [destroyed(f"aws_instance.worker[{n}]") for n in (10, 2, 1, 11, 3)]
    (group,) = group_findings(workers)
    assert [item.address for item in group.items] == [
        "aws_instance.worker[1]",
        "aws_instance.worker[2]",
        "aws_instance.worker[3]",
        "aws_instance.worker[10]",
        "aws_instance.worker[11]",
    ]
    assert group.resource_type == "aws_instance"
    assert group.explanation == (
        "Each of these is destroyed because its count index is no longer in range."
    )
    assert group.hint == "Check that this destroy is intended."


def test_another_cause_or_type_is_another_group_and_the_most_severe_comes_first():
    found = [
        destroyed("aws_instance.worker[1]"),
        destroyed("aws_instance.worker[2]", "its configuration was removed"),
        destroyed("aws_sqs_queue.jobs[1]"),
        finding(
            "stateful-destroy",
            "aws_db_instance.orders",
            "aws_db_instance.orders is destroyed: the database will be lost.",
        ),
    ]
    groups = group_findings(found)
    assert [(g.id, g.resource_type, len(g.items)) for g in groups] == [
        ("stateful-destroy", "aws_db_instance", 1),
        ("delete", "aws_instance", 1),
        ("delete", "aws_instance", 1),
        ("delete", "aws_sqs_queue", 1),
    ]
    # a group of one says the finding's own sentence, address and all
    assert groups[0].explanation == found[3]["message"]


def test_a_long_group_shows_its_first_addresses_and_says_how_many_more():
    (group,) = group_findings([destroyed(f"aws_instance.worker[{n}]") for n in range(12)], limit=5)
    assert [item.address for item in group.shown][-1] == "aws_instance.worker[4]"
    assert group.more == 7 and len(group.items) == 12
    (few,) = group_findings([destroyed("aws_instance.worker[0]")], limit=5)
    assert few.more == 0


def test_renames_keep_their_old_addresses_and_every_moved_block():
    renames = [
        finding(
            "probable-rename",
            f"aws_s3_bucket.new_{n}",
            f"aws_s3_bucket.old_{n} is deleted and aws_s3_bucket.new_{n} created with the same "
            "attributes: probably a rename.",
            related=[f"aws_s3_bucket.old_{n}"],
            moved_block=(
                f"moved {{\n  from = aws_s3_bucket.old_{n}\n  to   = aws_s3_bucket.new_{n}\n}}\n"
            ),
        )
        for n in (2, 1)
    ]
    (group,) = group_findings(renames, limit=1)
    assert [(i.address, i.related) for i in group.items] == [
        ("aws_s3_bucket.new_1", ("aws_s3_bucket.old_1",)),
        ("aws_s3_bucket.new_2", ("aws_s3_bucket.old_2",)),
    ]
    assert group.explanation.startswith("Its previous address is deleted and each of these")
    assert len(group.moved_blocks) == 2  # every block, also of the addresses not shown
    assert "from = aws_s3_bucket.old_1" in group.moved_blocks[0]


def test_a_real_analysis_groups_the_cognito_rename_with_its_moved_block():
    analysis = cognito_analysis()
    groups = group_findings(f.to_json() for f in analysis.findings)
    assert groups[0].id == "stateful-destroy"
    assert groups[0].items[0].address == "aws_cognito_user_pool.main"
    (rename,) = [g for g in groups if g.id == "probable-rename"]
    assert rename.moved_blocks == (
        "moved {\n  from = aws_cognito_user_pool.main\n  to   = aws_cognito_user_pool.users\n}\n",
    )


def cognito_analysis():
    """The story's plan: the Cognito pool renamed without a moved block."""
    changes = [
        resource(
            "aws_cognito_user_pool.main",
            ["delete"],
            before={"name": "users", "deletion_protection": "INACTIVE"},
            action_reason="delete_because_no_resource_config",
        ),
        resource(
            "aws_cognito_user_pool.users",
            ["create"],
            after={"name": "users", "deletion_protection": "INACTIVE"},
        ),
    ]
    return analyse_changes(*changes, catalog=CATALOG)


def test_plan_wide_findings_and_stored_findings_with_keys_missing_are_still_grouped():
    groups = group_findings(
        [
            {"id": "plan-errored", "severity": "critical", "verdict": "blocked", "address": ""},
            {"message": "an old finding"},
        ]
    )
    assert [(g.id, g.resource_type, g.severity) for g in groups] == [
        ("plan-errored", "", "critical"),
        ("", "", ""),
    ]


def test_resource_types_of_addresses():
    assert resource_type("aws_instance.web") == "aws_instance"
    assert resource_type("aws_instance.web[2]") == "aws_instance"
    assert resource_type('module.net["eu.west"].aws_subnet.a["x.y"]') == "aws_subnet"
    assert resource_type("module.a[0].module.b.data.aws_ami.latest") == "aws_ami"
    assert resource_type("data.aws_ami.latest") == "aws_ami"
    assert resource_type("") == "" and resource_type("orphan") == ""


indexes = st.integers(min_value=0, max_value=10_000)
names = st.sampled_from(["worker", "web", "db", "queue"])
types = st.sampled_from(["aws_instance", "aws_sqs_queue", "aws_db_instance"])
causes = st.sampled_from(["its count index is no longer in range", "its configuration was removed"])
ids = st.sampled_from(["delete", "stateful-destroy", "probable-rename"])


@st.composite
def findings_strategy(draw: st.DrawFn) -> list[dict[str, Any]]:
    made = []
    for _ in range(draw(st.integers(min_value=0, max_value=30))):
        address = f"{draw(types)}.{draw(names)}[{draw(indexes)}]"
        made.append(finding(draw(ids), address, f"{address} is destroyed because {draw(causes)}."))
    return made


@given(found=findings_strategy(), limit=st.integers(min_value=1, max_value=10))
def test_every_finding_lands_in_exactly_one_group_in_natural_order(found, limit):
    groups = group_findings(found, limit=limit)
    grouped = sorted((g.id, item.address) for g in groups for item in g.items)
    assert grouped == sorted((f["id"], f["address"]) for f in found)  # each exactly once
    for group in groups:
        addresses = [item.address for item in group.items]
        for before, after in itertools.pairwise(addresses):
            name, index = before.rsplit("[", 1)
            later_name, later_index = after.rsplit("[", 1)
            assert name < later_name or (
                name == later_name and int(index[:-1]) <= int(later_index[:-1])
            )
        assert {resource_type(item.address) for item in group.items} == {group.resource_type}
        assert len(group.shown) == min(limit, len(group.items))
        assert len(group.shown) + group.more == len(group.items)
    ranks = [("critical", "high", "medium", "low", "info").index(g.severity) for g in groups]
    assert ranks == sorted(ranks)


@given(st.lists(st.text(alphabet="ab[]0123456789", max_size=8), max_size=20))
def test_natural_order_is_a_total_order_numbers_by_value(addresses):
    ordered = sorted(addresses, key=natural_key)
    assert sorted(ordered, key=natural_key) == ordered
    keys = [natural_key(a) for a in ordered]
    assert all(a <= b for a, b in itertools.pairwise(keys))


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_indexes_compare_by_value(a, b):
    first, second = f"aws_instance.worker[{a}]", f"aws_instance.worker[{b}]"
    assert (natural_key(first) < natural_key(second)) == (a < b)


def test_a_group_summary_says_the_cause_without_its_own_addresses():
    (many,) = group_findings([destroyed(f"aws_instance.worker[{n}]") for n in range(3)])
    assert many.summary == "is destroyed because its count index is no longer in range."
    (one,) = group_findings([destroyed("aws_instance.worker[0]")])
    assert one.summary == "is destroyed because its count index is no longer in range."
    rename = finding(
        "probable-rename",
        "aws_s3_bucket.new",
        "aws_s3_bucket.old is deleted and aws_s3_bucket.new created: a rename.",
        related=["aws_s3_bucket.old"],
    )
    (told,) = group_findings([rename])
    assert told.summary == rename["message"]  # not starting with its address: told whole
    lost = destroyed("aws_s3_bucket.logs") | {
        "message": "aws_s3_bucket.logs is destroyed (see: below) because its configuration was "
        "removed: every object in the bucket will be lost."
    }
    typed = destroyed("aws_s3_bucket.logs") | {
        "message": "aws_s3_bucket.logs (aws_s3_bucket) is created without deletion protection."
    }
    assert group_findings([typed])[0].summary == "is created without deletion protection."
    (told_loss,) = group_findings([lost])
    assert told_loss.summary == "is destroyed (see: below) because its configuration was removed."
    (two,) = group_findings(
        [
            rename,
            rename
            | {
                "address": "aws_s3_bucket.n",
                "related": ["aws_s3_bucket.o"],
                "message": "aws_s3_bucket.o is deleted and aws_s3_bucket.n created: a rename.",
            },
        ]
    )
    assert two.summary == "Its previous address is deleted and each of these created: a rename."


def test_a_group_names_every_attribute_its_findings_name_once():
    found = [
        destroyed("aws_instance.worker[0]") | {"attributes": ["ami", "user_data"]},
        destroyed("aws_instance.worker[1]") | {"attributes": ["user_data", "subnet_id"]},
    ]
    (group,) = group_findings(found)
    assert group.attributes == ("ami", "user_data", "subnet_id")
    assert group.items[0].attributes == ("ami", "user_data")


def test_runs_of_count_indexes_compact_into_exact_ranges():
    addresses = [
        "aws_instance.worker[0]",
        "aws_instance.worker[1]",
        "aws_instance.worker[2]",
        "aws_instance.worker[4]",
        "aws_instance.worker[5]",
        'aws_instance.worker["6"]',
        "module.a[0].aws_instance.worker[1]",
        "module.a[0].aws_instance.worker[2]",
        "module.a[0].aws_instance.worker[3]",
        "aws_instance.web",
    ]
    assert compact_addresses(addresses) == [
        ("aws_instance.worker[0..2]", 3),
        ("aws_instance.worker[4]", 1),
        ("aws_instance.worker[5]", 1),
        ('aws_instance.worker["6"]', 1),
        ("module.a[0].aws_instance.worker[1..3]", 3),
        ("aws_instance.web", 1),
    ]
    assert compact_addresses(["a.b[01]", "a.b[2]", "a.b[3]"]) == [
        ("a.b[01]", 1),
        ("a.b[2]", 1),
        ("a.b[3]", 1),
    ]


def _expand(entry: str) -> list[str]:
    if "..]" in entry or ".." not in entry:
        return [entry]
    prefix, bounds = entry[:-1].rsplit("[", 1)
    first, last = (int(bound) for bound in bounds.split(".."))
    return [f"{prefix}[{n}]" for n in range(first, last + 1)]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["aws_instance.a", "aws_instance.b", "module.m[1].x.y"]),
            st.integers(min_value=0, max_value=40),
        ),
        max_size=60,
    )
)
def test_compacted_addresses_expand_back_to_exactly_the_addresses(pairs):
    addresses = sorted({f"{name}[{index}]" for name, index in pairs}, key=natural_key)
    entries = compact_addresses(addresses)
    assert [a for entry, _ in entries for a in _expand(entry)] == addresses
    assert [n for _, n in entries] == [len(_expand(entry)) for entry, _ in entries]
    assert all(n == 1 or n >= 3 for _, n in entries)
