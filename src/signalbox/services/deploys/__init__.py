"""Deploys: what `signalbox gate` asks of the server, one module per use case.

Each use case is one transaction that locks the environment, loads its snapshot, asks
``core.gate.decide_gate`` and writes the outcome with its catalogue event. On Go the deploy
takes the environment's DEPLOY hold (a new fencing token) and runs; the gate renews that
lease by heartbeat and releases it when it reports the outcome. Refusals are answers
(``GateAnswer``), not errors.

The use cases (what the API calls):

- ``request.request_deploy``: store a deploy with its plan's analysis, supersede older ones
  of the same branch, decide;
- ``decide.decide_deploy``: a waiting gate asks again; ``decide.decide_waiting``: every
  waiting deploy of an environment at once, when it changed;
- ``running.heartbeat_deploy``, ``running.finish_deploy``: a running deploy's lease;
- ``cancel.cancel_deploy``: the gate stops waiting;
- ``approvals.approve_deploy``, ``approvals.deny_deploy``: an approver (or, for a hotfix,
  the commander of its incident) decides on a plan (``approvals.decides_as_approver``: the
  grant test before it); ``approval_state.deploy_facts``: what a deploy's page says of it;
- ``preflight.preflight_deploy``: would a gate started now go, wait or be refused (reads
  only: nothing is stored);
- ``tidy.touch_waiting``, ``tidy.expire_stale_deploys``: keep waiting gates' places, and
  the server's housekeeping of lapsed and abandoned deploys;
- ``reads.get_deploy``, ``reads.list_deploys``: reads.

The pieces they share: ``snapshot`` (what the gate decides over), ``plans`` (a plan's
analysis), ``hotfix`` (who may run a hotfix of which incident), ``tidy`` (what time
ended), ``outcomes`` (what a decision writes), ``answers`` (what the gate is told) and
``events`` (the deploy's catalogue records). Use cases import the shared pieces, never each
other.
"""

from signalbox.services.deploys.answers import Deploy, GateAnswer
from signalbox.services.deploys.approvals import (
    Approval,
    approve_deploy,
    decides_as_approver,
    deny_deploy,
)
from signalbox.services.deploys.cancel import CANCEL_REASONS, cancel_deploy
from signalbox.services.deploys.decide import decide_deploy, decide_waiting
from signalbox.services.deploys.preflight import (
    PreflightAnswer,
    PreflightRequest,
    preflight_deploy,
)
from signalbox.services.deploys.reads import (
    get_deploy,
    list_deploys,
)
from signalbox.services.deploys.request import DeployRequest, request_deploy
from signalbox.services.deploys.running import finish_deploy, heartbeat_deploy
from signalbox.services.deploys.tidy import expire_stale_deploys, touch_waiting

__all__ = [
    "CANCEL_REASONS",
    "Approval",
    "Deploy",
    "DeployRequest",
    "GateAnswer",
    "PreflightAnswer",
    "PreflightRequest",
    "approve_deploy",
    "cancel_deploy",
    "decide_deploy",
    "decide_waiting",
    "decides_as_approver",
    "deny_deploy",
    "expire_stale_deploys",
    "finish_deploy",
    "get_deploy",
    "heartbeat_deploy",
    "list_deploys",
    "preflight_deploy",
    "request_deploy",
    "touch_waiting",
]
