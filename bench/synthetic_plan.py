"""Deterministic synthetic Terraform plans (format 1.2, as `terraform show -json` writes them).

``write_plan(path, changes, seed)`` streams one compact line of JSON: ``planned_values``,
``resource_changes``, ``prior_state`` and ``configuration``, about 7 KB per change, so memory
stays flat however big the plan. Every resource is drawn from its own RNG seeded by
(seed, index), so a plan is the same bytes on every machine and every run.

The mix: mostly no-op and update, some create, delete and replace (both orders), a few reads;
about 5% of resources are stateful types from the shipped catalog (some with protection
switched off); ``renames`` pairs of delete + create of the same type with the same attributes
(the rename signalbox must find); resources in modules and with count/for_each indexes;
sensitive masks. One resource in eight belongs to a "fleet": count instances of a few
stateful types, all replaced (``name`` forces it) or destroyed (the count shrank), so the
report has many findings in few groups (about 1,250 high findings in three groups per 10,000
changes, like a real plan that scales a fleet down). ``PlanStats`` says what was generated,
so a run can check the report.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

GENERATOR_VERSION = 2  # bump when the output changes, so cached plans are regenerated

STATEFUL_TYPES = (
    ("aws_db_instance", "deletion_protection", True, False),
    ("aws_dynamodb_table", "deletion_protection_enabled", True, False),
    ("aws_s3_bucket", "force_destroy", False, True),
    ("aws_cognito_user_pool", "deletion_protection", "ACTIVE", "INACTIVE"),
    ("google_sql_database_instance", "deletion_protection", True, False),
    ("aws_kms_key", None, None, None),
    ("aws_efs_file_system", None, None, None),
)
PLAIN_TYPES = (
    "aws_iam_role_policy",
    "aws_security_group_rule",
    "aws_route53_record",
    "aws_lambda_permission",
    "aws_cloudwatch_metric_alarm",
    "aws_lambda_function",
    "aws_ecs_service",
    "google_project_iam_member",
    "azurerm_role_assignment",
    "aws_launch_template",
)
PROVIDERS = {"aws": "aws", "google": "google", "azurerm": "azurerm"}
ACTIONS = (  # (actions, weight)
    (("no-op",), 600),
    (("update",), 250),
    (("create",), 50),
    (("delete",), 30),
    (("delete", "create"), 30),
    (("create", "delete"), 10),
    (("read",), 10),
)
FLEETS = (  # (type, actions, action_reason): one resource in FLEET_EVERY is in one of these
    ("aws_s3_bucket", ("delete", "create"), "replace_because_cannot_update"),
    ("aws_efs_file_system", ("delete",), "delete_because_count_index"),
    ("aws_kms_key", ("delete", "create"), "replace_because_cannot_update"),
)
FLEET_EVERY = 8
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


@dataclass
class PlanStats:
    changes: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    stateful: int = 0
    renames: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Resource:
    address: str
    module: str | None
    type: str
    name: str
    index: int | str | None
    actions: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    after_unknown: dict[str, Any]
    sensitive: dict[str, Any]
    reason: str | None = None  # action_reason, when not the default for the actions


def _text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(length))


def _attributes(rng: random.Random, name: str) -> dict[str, Any]:
    """About 30 attributes: scalars, lists, a tag map and nested blocks."""
    values: dict[str, Any] = {
        "id": f"id-{_text(rng, 20)}",
        "arn": f"arn:aws:service:eu-west-1:123456789012:thing/{name}-{_text(rng, 12)}",
        "name": name,
        "description": " ".join(rng.choice(WORDS) for _ in range(8)),
        "region": rng.choice(("eu-west-1", "us-east-1", "europe-west1")),
        "enabled": rng.random() < 0.8,
        "count_limit": rng.randrange(1, 10_000),
        "ratio": round(rng.random(), 4),
        "timeout_seconds": rng.choice((30, 60, 300, 900)),
        "kms_key_id": None,
        "policy": orjson.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": [f"svc:{rng.choice(WORDS)}"], "Resource": "*"}
                ],
            }
        ).decode(),
        "subnet_ids": [f"subnet-{_text(rng, 17)}" for _ in range(rng.randrange(1, 4))],
        "security_group_ids": [f"sg-{_text(rng, 17)}" for _ in range(rng.randrange(0, 3))],
        "tags": {"team": rng.choice(WORDS), "env": "dev", "cost_center": str(rng.randrange(999))},
        "tags_all": {"team": "platform", "env": "dev", "managed_by": "terraform"},
        "timeouts": None,
        "logging": [{"bucket": f"logs-{_text(rng, 8)}", "prefix": name, "enabled": True}],
        "rule": [
            {
                "priority": position,
                "action": rng.choice(("allow", "deny")),
                "match": [{"paths": [f"/{rng.choice(WORDS)}/*"], "methods": ["GET", "POST"]}],
            }
            for position in range(rng.randrange(1, 4))
        ],
        "lifecycle": [{"days": rng.choice((7, 30, 90)), "storage_class": "STANDARD_IA"}],
    }
    for number in range(30 - len(values)):
        values[f"setting_{number}"] = _text(rng, rng.randrange(12, 56))
    return values


def _address(
    module: str | None, type_: str, name: str, index: int | str | None, mode: str = "managed"
) -> str:
    suffix = "" if index is None else f"[{orjson.dumps(index).decode()}]"
    prefix = f"{module}." if module else ""
    data = "data." if mode == "data" else ""
    return f"{prefix}{data}{type_}.{name}{suffix}"


def _pick_type(rng: random.Random) -> tuple[str, tuple[Any, ...] | None]:
    if rng.random() < 0.05:
        entry = rng.choice(STATEFUL_TYPES)
        return entry[0], entry
    return rng.choice(PLAIN_TYPES), None


def _resource(seed: int, position: int, module: str | None) -> Resource:
    rng = random.Random(seed * 1_000_003 + position)
    type_, stateful = _pick_type(rng)
    actions = rng.choices([a for a, _ in ACTIONS], weights=[w for _, w in ACTIONS])[0]
    name = f"r{position}"
    index: int | str | None = rng.choice((None, None, None, 0, 1, "blue", "green"))
    before = _attributes(rng, name)
    if stateful and stateful[1]:
        before[stateful[1]] = stateful[2]
    after = dict(before)
    unknown: dict[str, Any] = {}
    if actions == ("update",):
        after["description"] = after["description"] + " (changed)"
        after["tags"] = {**after["tags"], "revision": str(rng.randrange(100))}
        if stateful and stateful[1] and rng.random() < 0.1:
            after[stateful[1]] = stateful[3]  # protection switched off
    if "create" in actions:
        after.update(id=None, arn=None)
        unknown = {"id": True, "arn": True}
    sensitive: dict[str, Any] = {"tags": {}, "logging": [{}], "rule": [{} for _ in after["rule"]]}
    if rng.random() < 0.05:
        sensitive["setting_0"] = True
    mode = "data" if actions == ("read",) else "managed"
    return Resource(
        address=_address(module, type_, name, index, mode),
        module=module,
        type=type_,
        name=name,
        index=index,
        actions=actions,
        before=None if actions in {("create",), ("read",)} else before,
        after=None if actions == ("delete",) else after,
        after_unknown=unknown,
        sensitive=sensitive,
    )


def _fleet_member(seed: int, position: int, module: str | None) -> Resource:
    """Instance N of fleet K: ``aws_s3_bucket.fleet_0[N]`` and so on, consecutive indexes."""
    rng = random.Random(seed * 3_000_017 + position)
    member = position // FLEET_EVERY
    type_, actions, reason = FLEETS[member % len(FLEETS)]
    name, index = f"fleet_{member % len(FLEETS)}", member // len(FLEETS)
    before = _attributes(rng, f"{name}-{index}")
    after = None if actions == ("delete",) else {**before, "id": None, "arn": None}
    return Resource(
        address=_address(module, type_, name, index),
        module=module,
        type=type_,
        name=name,
        index=index,
        actions=actions,
        before=before,
        after=after,
        after_unknown={} if after is None else {"id": True, "arn": True},
        sensitive={"tags": {}, "logging": [{}], "rule": [{} for _ in before["rule"]]},
        reason=reason,
    )


def _renamed_pair(seed: int, position: int) -> tuple[Resource, Resource]:
    """An unmatched delete and create of one stateful type, with the same attributes."""
    rng = random.Random(seed * 7_000_001 + position)
    type_, argument, protected, _ = STATEFUL_TYPES[position % len(STATEFUL_TYPES)]
    old_name, new_name = f"renamed_{position}", f"renamed_{position}_v2"
    before = _attributes(rng, "shared-name")
    if argument:
        before[argument] = protected
    after = {**before, "id": None, "arn": None}

    def resource(name: str, actions: tuple[str, ...], **values: Any) -> Resource:
        address = _address(None, type_, name, None)
        return Resource(address, None, type_, name, None, actions, sensitive={}, **values)

    deleted = resource(old_name, ("delete",), before=before, after=None, after_unknown={})
    unknown = {"id": True, "arn": True}
    created = resource(new_name, ("create",), before=None, after=after, after_unknown=unknown)
    return deleted, created


def rename_count(changes: int) -> int:
    """How many renamed pairs a plan of ``changes`` changes holds: one per 2,000, at least 3."""
    return max(3, changes // 2000)


def _resources(changes: int, seed: int, stats: PlanStats) -> Iterator[Resource]:
    """Root resources first (the renames among them), then modules of 250 resources each."""
    renames = rename_count(changes)
    for position in range(renames):
        deleted, created = _renamed_pair(seed, position)
        stats.renames.append((deleted.address, created.address))
        yield deleted
        yield created
    plain = changes - 2 * renames
    root_count = int(plain * 0.6)
    for position in range(plain):
        module = None if position < root_count else f"module.svc_{(position - root_count) // 250}"
        if position % FLEET_EVERY == FLEET_EVERY - 1:
            yield _fleet_member(seed, position, module)
        else:
            yield _resource(seed, position, module)


def _provider(type_: str) -> str:
    return f"registry.terraform.io/hashicorp/{PROVIDERS[type_.split('_', 1)[0]]}"


def _state_resource(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    mode = "data" if resource.actions == ("read",) else "managed"
    entry: dict[str, Any] = {
        "address": resource.address,
        "mode": mode,
        "type": resource.type,
        "name": resource.name,
    }
    if resource.index is not None:
        entry["index"] = resource.index
    entry.update(
        provider_name=_provider(resource.type),
        schema_version=0,
        values=values,
        sensitive_values=resource.sensitive,
    )
    return entry


def _change(resource: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": resource.address}
    if resource.module:
        entry["module_address"] = resource.module
    entry.update(
        mode="data" if resource.actions == ("read",) else "managed",
        type=resource.type,
        name=resource.name,
    )
    if resource.index is not None:
        entry["index"] = resource.index
    entry["provider_name"] = _provider(resource.type)
    entry["change"] = {
        "actions": list(resource.actions),
        "before": resource.before,
        "after": resource.after,
        "after_unknown": resource.after_unknown,
        "before_sensitive": resource.sensitive if resource.before is not None else False,
        "after_sensitive": resource.sensitive if resource.after is not None else False,
    }
    if len(resource.actions) == 2:
        entry["change"]["replace_paths"] = [["name"]]
        entry["action_reason"] = "replace_because_cannot_update"
    elif resource.actions == ("delete",):
        entry["action_reason"] = resource.reason or "delete_because_no_resource_config"
    return entry


class _Sections:
    """Three temporary files filled in one pass, then concatenated into the plan."""

    def __init__(self, directory: Path) -> None:
        self.paths = [
            directory / f".section-{name}.part" for name in ("planned", "changes", "prior")
        ]
        self.files: list[IO[bytes]] = [path.open("wb") for path in self.paths]
        self.first = [True, True, True]
        self.module: list[str | None] = [None, None, None]

    def add(self, section: int, item: dict[str, Any], module: str | None = None) -> None:
        """Append ``item``; in the state sections, open a child module when ``module`` changes."""
        handle = self.files[section]
        if section != 1 and module != self.module[section]:
            opening = b'{"address":' + orjson.dumps(module) + b',"resources":['
            if self.module[section] is None:
                handle.write(b'],"child_modules":[' + opening)
            else:
                handle.write(b"]}," + opening)
            self.module[section] = module
            self.first[section] = True
        handle.write((b"" if self.first[section] else b",") + orjson.dumps(item))
        self.first[section] = False

    def finish_modules(self, section: int) -> bytes:
        """The bytes that close the section's root module (and its last child module)."""
        return b"]}]}" if self.module[section] is not None else b"]}"

    def close(self) -> None:
        for handle in self.files:
            handle.close()

    def copy(self, section: int, out: IO[bytes]) -> None:
        with self.paths[section].open("rb") as source:
            while chunk := source.read(1 << 22):
                out.write(chunk)

    def remove(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)


def write_plan(path: Path, changes: int, seed: int = 20261126) -> PlanStats:
    """Write a plan of ``changes`` resource changes to ``path``; return what it holds."""
    stats = PlanStats()
    sections = _Sections(path.parent)
    try:
        for resource in _resources(changes, seed, stats):
            stats.changes += 1
            key = "-".join(resource.actions)
            stats.actions[key] = stats.actions.get(key, 0) + 1
            stats.stateful += resource.type in {entry[0] for entry in STATEFUL_TYPES}
            if resource.after is not None:
                sections.add(0, _state_resource(resource, resource.after), resource.module)
            sections.add(1, _change(resource))
            if resource.before is not None:
                sections.add(2, _state_resource(resource, resource.before), resource.module)
        sections.close()
        with path.open("wb") as out:
            out.write(b'{"format_version":"1.2","terraform_version":"1.15.5",')
            out.write(b'"planned_values":{"root_module":{"resources":[')
            sections.copy(0, out)
            out.write(sections.finish_modules(0) + b'},"resource_changes":[')
            sections.copy(1, out)
            out.write(b'],"prior_state":{"format_version":"1.0","terraform_version":"1.15.5",')
            out.write(b'"values":{"root_module":{"resources":[')
            sections.copy(2, out)
            out.write(
                sections.finish_modules(2)
                + b'}},"configuration":{"provider_config":{"aws":{"name":"aws",'
            )
            out.write(b'"full_name":"registry.terraform.io/hashicorp/aws"}},"root_module":{}},')
            out.write(b'"timestamp":"2026-11-26T00:00:00Z","applyable":true,"complete":true,')
            out.write(b'"errored":false}\n')
    finally:
        sections.close()
        sections.remove()
    return stats
