"""The Terraform state backend's use cases (issue 4); see ``store`` for how they work."""

from signalbox.services.tfstate.bodies import delete_state, prune_state, read_state, write_state
from signalbox.services.tfstate.history import (
    StateChange,
    VersionInfo,
    list_versions,
    restore_version,
    rotate_keys,
    show_version,
)
from signalbox.services.tfstate.locks import lock_state, unlock_state
from signalbox.services.tfstate.store import StateStore, StoredState, validate_state_name

__all__ = [
    "StateChange",
    "StateStore",
    "StoredState",
    "VersionInfo",
    "delete_state",
    "list_versions",
    "lock_state",
    "prune_state",
    "read_state",
    "restore_version",
    "rotate_keys",
    "show_version",
    "unlock_state",
    "validate_state_name",
    "write_state",
]
