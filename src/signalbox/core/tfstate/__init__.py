"""Pure rules of the Terraform state backend: the state key, lock info, decisions, refusals,
state heads and diffs, body segments, and the out-of-band hold. No I/O, no clock: ``now`` is
an argument."""

from signalbox.core.tfstate.decisions import (
    decide_delete,
    decide_lock,
    decide_unlock,
    decide_write,
    live_hold,
)
from signalbox.core.tfstate.lockinfo import READ_ONLY_OPERATIONS, LockInfo, parse_lock_info
from signalbox.core.tfstate.model import (
    Accepted,
    EnvironmentFacts,
    Refusal,
    RefusalCause,
    StateHead,
    StateKey,
    TerraformLock,
    WriteRequest,
    validate_state_name,
)
from signalbox.core.tfstate.out_of_band import AutomaticHold, automatic_hold
from signalbox.core.tfstate.segments import SEGMENT_SIZE, Segment
from signalbox.core.tfstate.statediff import StateDiff, diff_states, resource_addresses
from signalbox.core.tfstate.statehead import (
    HeadReading,
    StateHeadScanner,
    read_state_head,
    read_whole_state_head,
    rewrite_serial,
)

__all__ = [
    "READ_ONLY_OPERATIONS",
    "SEGMENT_SIZE",
    "Accepted",
    "AutomaticHold",
    "EnvironmentFacts",
    "HeadReading",
    "LockInfo",
    "Refusal",
    "RefusalCause",
    "Segment",
    "StateDiff",
    "StateHead",
    "StateHeadScanner",
    "StateKey",
    "TerraformLock",
    "WriteRequest",
    "automatic_hold",
    "decide_delete",
    "decide_lock",
    "decide_unlock",
    "decide_write",
    "diff_states",
    "live_hold",
    "parse_lock_info",
    "read_state_head",
    "read_whole_state_head",
    "resource_addresses",
    "rewrite_serial",
    "validate_state_name",
]
