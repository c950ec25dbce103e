"""The deploy use cases are one package: a pinned public surface, one module per use case,
and use cases that share pieces without calling each other."""

from __future__ import annotations

import ast
from pathlib import Path

import signalbox.services
from signalbox.services import deploys

USE_CASES = (
    "approval_state",
    "approvals",
    "cancel",
    "decide",
    "preflight",
    "reads",
    "request",
    "running",
)
SHARED = ("answers", "events", "hotfix", "outcomes", "plans", "snapshot", "tidy")


def test_the_package_exports_the_entries_the_api_calls():
    assert sorted(deploys.__all__) == [
        "Approval",
        "CANCEL_REASONS",
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
    assert all(hasattr(deploys, name) for name in deploys.__all__)


def test_no_flat_deploy_module_remains():
    services = Path(signalbox.services.__file__).parent
    assert sorted(path.name for path in services.glob("deploy*.py")) == []
    assert not (services / "approvals.py").exists()
    modules = sorted(path.stem for path in (services / "deploys").glob("*.py"))
    assert modules == sorted(("__init__", *USE_CASES, *SHARED))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }


def test_a_use_case_imports_the_shared_pieces_never_another_use_case():
    folder = Path(deploys.__file__).parent
    for name in (*USE_CASES, *SHARED):
        imported = _imported_modules(folder / f"{name}.py")
        others = {f"signalbox.services.deploys.{case}" for case in USE_CASES if case != name}
        assert not imported & others, (name, imported & others)
