"""The Terraform state backend's use cases; see ``store`` for how they work.

A state is identified by its ``core.tfstate.StateKey`` (environment, name) throughout."""

from signalbox.services.tfstate.bodies import (
    StagedBody,
    after_write,
    delete_state,
    prune_state,
    read_state,
    stage_upload,
    write_state,
)
from signalbox.services.tfstate.history import (
    StateChange,
    VersionInfo,
    list_state_versions,
    list_versions,
    restore_version,
    rotate_keys,
    show_version,
)
from signalbox.services.tfstate.locks import lock_state, unlock_state
from signalbox.services.tfstate.store import StateStore, StoredState

__all__ = [
    "StagedBody",
    "StateChange",
    "StateStore",
    "StoredState",
    "VersionInfo",
    "after_write",
    "delete_state",
    "list_state_versions",
    "list_versions",
    "lock_state",
    "prune_state",
    "read_state",
    "restore_version",
    "rotate_keys",
    "show_version",
    "stage_upload",
    "unlock_state",
    "write_state",
]
