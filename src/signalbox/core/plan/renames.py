"""Probable renames: an unmatched delete and an unmatched create that are the same object.

A delete and a create of the same type (any provider) are matched in three passes, each only
among the candidates the passes before left untouched, and each unique both ways (a delete
matching two creates, or a create matching two deletes, is neither, and stays out of the later
passes too):

1. **Same attributes.** Their attributes agree, compared both ways, with three allowances:
   values the create only knows after apply are wildcards, computed identifiers (``id``,
   ``arn``) are ignored, and null equals absent. At least one attribute must agree on a real
   value (not null, empty or false). Creates are grouped by the set of attributes they leave
   unknown; within a group, deletes and creates meet in a hash table by a signature of their
   comparable attributes. Not quadratic.
2. **Same identity.** They agree on every identity attribute (:data:`IDENTITY_NAMES`: the
   object's own name in the cloud) that either side has with a real value, the create knows
   all of them at plan time, and at least as many attributes agree on a real value as differ.
   A cloud name is unique in its scope, so a delete and a create with one name are one object
   far more often than two. Deletes and creates meet in a hash table by their identity.
3. **All but a few.** At most :data:`MAX_NEAR_DIFFERENCES` known attributes differ, none of
   them an identity attribute, and more agree on a real value than differ. This compares
   pairs, so it runs only for a type whose remaining deletes times creates is at most
   :data:`MAX_NEAR_PAIRS`: with ``d * c <= P`` the pairs are at most ``sqrt(P) * (d + c)``,
   a bounded number per change.

Matches of passes 2 and 3 carry the attributes that still differ (``changing``): after a
``moved`` block Terraform updates them in place or replaces the object, which the plan cannot
say without the provider's schema.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from signalbox.core.plan.model import ResourceChange
from signalbox.core.plan.values import COMPUTED_IDENTIFIERS, attribute_values, unknown_names

__all__ = [
    "COMPUTED_IDENTIFIERS",
    "IDENTITY_NAMES",
    "MAX_NEAR_DIFFERENCES",
    "MAX_NEAR_PAIRS",
    "Rename",
    "find_renames",
    "identity_names",
    "moved_block",
]

IDENTITY_NAMES = frozenset(
    {
        "name",  # nearly every type: aws, azurerm, google, azapi
        "bucket",  # aws_s3_bucket and its one-per-bucket settings resources
        "key",  # objects inside a bucket or a store: aws_s3_object, app configuration keys
        "identifier",  # aws_db_instance, aws_rds_cluster_instance
        "cluster_identifier",  # aws_rds_cluster, aws_redshift_cluster
        "cluster_id",  # aws_elasticache_cluster
        "replication_group_id",  # aws_elasticache_replication_group
        "family",  # aws_ecs_task_definition (its revisions share the family)
    }
)
"""Attributes that hold an object's own name in the cloud, unique in their scope. Parent
references (``resource_group_name``, ``database_name``) are not in the set: on their own they
would match two different children of one parent. An attribute of this set that is a parent
for some type (``bucket`` of an S3 object, ``cluster_identifier`` of an RDS instance) only
makes the match stricter, since every one of them must agree. Besides these, the type's own
``<last word>_name`` counts (``function_name`` of ``aws_lambda_function``,
``repository_name`` of ``aws_codecommit_repository``)."""
MAX_NEAR_DIFFERENCES = 2
"""At most this many known attributes may differ in an "all but a few" match."""
MAX_NEAR_PAIRS = 2500
"""An "all but a few" search runs for a type only while its remaining deletes times creates
stays at most this (50 by 50): at most 50 comparisons per change."""
_ENCODER = msgspec.json.Encoder(order="sorted")
_MAX_TRACKED = 2  # two candidates are enough to know a match is not unique


@dataclass(frozen=True, slots=True)
class Rename:
    """A delete and a create that are probably one object under a new address."""

    deleted: ResourceChange
    created: ResourceChange
    attributes: tuple[str, ...]  # names of the attributes that agree on a real value
    changing: tuple[str, ...] = ()  # names of the known attributes that still differ
    identity: tuple[str, ...] = ()  # the identity attributes it was matched on, if so

    @property
    def moved_block(self) -> str:
        return moved_block(self.deleted.address, self.created.address)


def moved_block(from_address: str, to_address: str) -> str:
    """The ready-to-paste ``moved`` block (addresses keep their ``[0]``/``["k"]`` keys)."""
    return f"moved {{\n  from = {from_address}\n  to   = {to_address}\n}}\n"


@dataclass(frozen=True, slots=True)
class _Side:
    change: ResourceChange
    values: dict[str, Any]  # comparable attributes, nulls dropped
    unknown: frozenset[str]  # top-level attributes known only after apply (creates)

    def signature(self, excluded: frozenset[str]) -> bytes:
        """Compact JSON with sorted keys of the attributes not excluded: equal signatures
        mean equal values, whatever the layout of the plan's JSON."""
        if excluded.isdisjoint(self.values):
            return _ENCODER.encode(self.values)
        return _ENCODER.encode({n: v for n, v in self.values.items() if n not in excluded})


def find_renames(
    deletes: Iterable[ResourceChange], creates: Iterable[ResourceChange]
) -> list[Rename]:
    """Every unique match between ``deletes`` and ``creates``, in the order of the deletes.

    Candidates meet by resource type only, not by provider: a `moved` block may cross
    providers of one type (``google`` and ``google-beta``), and a damaged or missing
    ``provider_name`` must not lose a rename."""
    deleted_by_type: dict[str, list[ResourceChange]] = defaultdict(list)
    created_by_type: dict[str, list[ResourceChange]] = defaultdict(list)
    for change in deletes:
        deleted_by_type[change.type].append(change)
    for change in creates:
        created_by_type[change.type].append(change)
    renames: list[Rename] = []
    for resource_type, deleted in deleted_by_type.items():
        created = created_by_type.get(resource_type)
        if created:
            renames.extend(_match_kind(deleted, created))
    return renames


def _side(
    change: ResourceChange, raw: msgspec.Raw, excluded: frozenset[str], unknown: frozenset[str]
) -> _Side:
    decoded = attribute_values(raw) or {}
    values = {n: v for n, v in decoded.items() if v is not None and n not in excluded}
    return _Side(change, values, unknown)


def _is_evidence(value: Any) -> bool:
    """A real value (not false, empty or null): agreeing on it says something."""
    return value is not False and value != "" and value != [] and value != {}


def _deleted_side(change: ResourceChange) -> _Side:
    return _side(change, change.change.before, COMPUTED_IDENTIFIERS, frozenset())


def _created_side(change: ResourceChange) -> _Side:
    unknown = unknown_names(change.change.after_unknown)
    return _side(change, change.change.after, COMPUTED_IDENTIFIERS | unknown, unknown)


def identity_names(resource_type: str) -> frozenset[str]:
    """:data:`IDENTITY_NAMES` and the type's own ``<last word>_name``."""
    return IDENTITY_NAMES | {resource_type.rsplit("_", 1)[-1] + "_name"}


def _match_kind(
    deleted: Sequence[ResourceChange], created: Sequence[ResourceChange]
) -> list[Rename]:
    deletes = [_deleted_side(change) for change in deleted]
    creates = [_created_side(change) for change in created]
    delete_matches, create_matches = _exact_candidates(deletes, creates)
    renames = []
    for delete_position, found in sorted(delete_matches.items()):
        if len(found) == 1 and create_matches[found[0]] == [delete_position]:
            create = creates[found[0]]
            agreeing, _ = _compare(deletes[delete_position], create)  # nothing differs
            if agreeing:  # sharing only defaults and nulls is no evidence of anything
                renames.append(Rename(deleted[delete_position], create.change, agreeing))
    # a candidate of an exact match, unique or not, is settled: ambiguity stays ambiguity
    left_deletes = [p for p in range(len(deletes)) if p not in delete_matches]
    left_creates = [p for p in range(len(creates)) if p not in create_matches]
    if not left_deletes or not left_creates:
        return renames
    names = identity_names(deleted[0].type)
    pairs, settled_deletes, settled_creates = _identity_pairs(
        deletes, creates, left_deletes, left_creates, names
    )
    for delete_position, create_position in pairs:
        agreeing, changing = _compare(deletes[delete_position], creates[create_position])
        if changing and len(changing) <= len(agreeing):
            identity = tuple(sorted(names & deletes[delete_position].values.keys()))
            renames.append(
                Rename(
                    deleted[delete_position],
                    created[create_position],
                    agreeing,
                    changing,
                    identity,
                )
            )
    left_deletes = [p for p in left_deletes if p not in settled_deletes]
    left_creates = [p for p in left_creates if p not in settled_creates]
    if len(left_deletes) * len(left_creates) <= MAX_NEAR_PAIRS:
        renames.extend(_near_renames(deletes, creates, left_deletes, left_creates, names))
    return renames


def _exact_candidates(
    deletes: Sequence[_Side], creates: Sequence[_Side]
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Pass 1: for every delete the creates with the same signature (two at most), and the
    other way round."""
    by_shape: dict[frozenset[str], list[int]] = defaultdict(list)
    for position, side in enumerate(creates):
        by_shape[side.unknown].append(position)
    delete_matches: dict[int, list[int]] = defaultdict(list)
    create_matches: dict[int, list[int]] = defaultdict(list)
    for shape, members in by_shape.items():
        index: dict[bytes, list[int]] = defaultdict(list)
        for position, side in enumerate(deletes):
            found = index[side.signature(shape)]
            if len(found) < _MAX_TRACKED:
                found.append(position)
        for create_position in members:
            for delete_position in index.get(creates[create_position].signature(shape), ()):
                _track(delete_matches[delete_position], create_position)
                _track(create_matches[create_position], delete_position)
    return delete_matches, create_matches


def _identity(side: _Side, names: frozenset[str]) -> bytes | None:
    """The side's identity (its identity attributes with a real value, as sorted JSON), or
    None when it has none or the create leaves one of them unknown."""
    if not names.isdisjoint(side.unknown):
        return None
    identity = {n: v for n, v in side.values.items() if n in names and _is_evidence(v)}
    return _ENCODER.encode(identity) if identity else None


def _identity_pairs(
    deletes: Sequence[_Side],
    creates: Sequence[_Side],
    left_deletes: Sequence[int],
    left_creates: Sequence[int],
    names: frozenset[str],
) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    """Pass 2: the (delete, create) pairs whose identity is theirs alone, and every side
    that has an identity another side shares (settled: ambiguous)."""
    by_identity: dict[bytes, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for position in left_deletes:
        identity = _identity(deletes[position], names)
        if identity is not None:
            by_identity[identity][0].append(position)
    for position in left_creates:
        identity = _identity(creates[position], names)
        if identity is not None and identity in by_identity:
            by_identity[identity][1].append(position)
    pairs, settled_deletes, settled_creates = [], set(), set()
    for found_deletes, found_creates in by_identity.values():
        if not found_creates:
            continue
        settled_deletes.update(found_deletes)
        settled_creates.update(found_creates)
        if len(found_deletes) == 1 and len(found_creates) == 1:
            pairs.append((found_deletes[0], found_creates[0]))
    return sorted(pairs), settled_deletes, settled_creates


def _near_renames(
    deletes: Sequence[_Side],
    creates: Sequence[_Side],
    left_deletes: Sequence[int],
    left_creates: Sequence[int],
    names: frozenset[str],
) -> list[Rename]:
    """Pass 3: pairs that differ in at most :data:`MAX_NEAR_DIFFERENCES` known attributes,
    none of them an identity attribute, with more agreeing than differing, unique both ways.
    Pairwise: the caller bounds it.

    Two objects with different cloud names are two objects: and since a new name forces a
    new object for nearly every type, a ``moved`` block would not keep it anyway."""
    found: dict[tuple[int, int], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    delete_matches: dict[int, list[int]] = defaultdict(list)
    create_matches: dict[int, list[int]] = defaultdict(list)
    for delete_position in left_deletes:
        delete = deletes[delete_position]
        for create_position in left_creates:
            create = creates[create_position]
            differing = _differences(delete, create, MAX_NEAR_DIFFERENCES)
            if differing is None or not names.isdisjoint(differing):
                continue  # the usual case, cut short at the third difference
            agreeing, changing = _compare(delete, create)
            if len(agreeing) > len(changing):
                found[(delete_position, create_position)] = (agreeing, changing)
                _track(delete_matches[delete_position], create_position)
                _track(create_matches[create_position], delete_position)
    renames = []
    for (delete_position, create_position), (agreeing, changing) in sorted(found.items()):
        if delete_matches[delete_position] == [create_position] and create_matches[
            create_position
        ] == [delete_position]:
            delete, create = deletes[delete_position], creates[create_position]
            renames.append(Rename(delete.change, create.change, agreeing, changing))
    return renames


def _differences(delete: _Side, create: _Side, limit: int) -> list[str] | None:
    """The names that differ, or None as soon as there are more than ``limit``: most pairs
    of the pairwise pass differ almost everywhere, and stop after a few names."""
    differing: list[str] = []
    mine, theirs, unknown = delete.values, create.values, create.unknown
    for name, value in mine.items():
        if name not in unknown and theirs.get(name) != value:
            differing.append(name)
            if len(differing) > limit:
                return None
    for name in theirs:
        if name not in mine:
            differing.append(name)
            if len(differing) > limit:
                return None
    return differing


def _compare(delete: _Side, create: _Side) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(agreeing on a real value, differing) attribute names, sorted; attributes the create
    only knows after apply are neither (its ``values`` leave them out)."""
    agreeing, differing = [], []
    theirs = create.values
    for name in delete.values.keys() | theirs.keys():
        if name in create.unknown:
            continue
        value = delete.values.get(name)
        if value != theirs.get(name):
            differing.append(name)
        elif _is_evidence(value):
            agreeing.append(name)
    return tuple(sorted(agreeing)), tuple(sorted(differing))


def _track(found: list[int], position: int) -> None:
    if position not in found and len(found) < _MAX_TRACKED:
        found.append(position)
