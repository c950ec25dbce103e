"""read_plans on every real plan we have, and on the ugly inputs real CI produces."""

from __future__ import annotations

import gc
import hashlib
import zipfile
from io import BytesIO

import orjson
import pytest
from tests.core.plan.builders import (
    CATALOG,
    DEFAULT_POLICY,
    EMPTY_CATALOG,
    FIXTURES,
    fixture_bytes,
    plan_bytes,
    resource,
)

from signalbox.core.errors import PlanFormatUnsupported, PlanNotJson, PlanUnreadable
from signalbox.core.plan import Action, Verdict, analyse, read_plans

ALL_PLANS = sorted(
    str(path.relative_to(FIXTURES))
    for folder in ("public", "generated")
    for path in (FIXTURES / folder).rglob("*.json")
)
DAMAGED = FIXTURES / "derived" / "reading"


def test_the_fixture_corpus_is_all_there() -> None:
    public = [path for path in ALL_PLANS if path.startswith("public/")]
    assert len(public) == 46
    assert len(ALL_PLANS) - len(public) >= 6
    assert not list(DAMAGED.glob("*.json")), "damaged plans end in .txt (see its MANIFEST.md)"


@pytest.mark.parametrize("relative", ALL_PLANS)
def test_every_shared_plan_is_read(relative: str) -> None:
    plans = read_plans(fixture_bytes(relative), source=relative)
    assert len(plans) == 1
    plan = plans[0]
    document = orjson.loads(fixture_bytes(relative))
    assert plan.format_version == document["format_version"]
    assert plan.terraform_version == document.get("terraform_version", "")
    assert len(plan.changes) == len(document.get("resource_changes", []))
    assert len(plan.drift) == len(document.get("resource_drift", []))
    assert [change.address for change in plan.changes] == [
        entry["address"] for entry in document.get("resource_changes", [])
    ]
    assert plan.errored is document.get("errored", False)
    assert plan.digest == "sha256:" + hashlib.sha256(fixture_bytes(relative).strip()).hexdigest()


def _one_change_plan(**top: object) -> bytes:
    change = resource("aws_s3_bucket.logs", ["delete"], before={"bucket": "logs"})
    return plan_bytes(change, **top)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),
    ],
)
def test_byte_order_marks_and_utf16_are_read(encoding: str, prefix: bytes) -> None:
    text = _one_change_plan().decode() + "\r\n"  # PowerShell's Out-File adds CRLF
    (plan,) = read_plans(prefix + text.encode(encoding), source="ps.json")
    assert [change.address for change in plan.changes] == ["aws_s3_bucket.logs"]
    assert plan.changes[0].action is Action.DELETE


def test_utf16_that_cannot_be_decoded_is_unreadable() -> None:
    with pytest.raises(PlanUnreadable, match="UTF-16"):
        read_plans(b"\xff\xfe{\x00\x00\xd8", source="bad.json")


def test_github_setup_terraform_wrapper_noise_is_skipped() -> None:
    body = _one_change_plan().decode()
    escaped = body.replace("%", "%25")
    noisy = (
        "[command]/home/runner/work/_temp/3f1c/terraform-bin show -json tfplan\n"
        f"{body}\n"
        "::debug::Terraform exited with code 0.\n"
        f"::debug::stdout: {escaped}\n"
        "::debug::stderr: \n"
        "::debug::exitcode: 0\n"
        f"::set-output name=stdout::{escaped}\n"
        "::set-output name=stderr::\n"
        "::set-output name=exitcode::0\n"
    ).encode()
    plans = read_plans(noisy, source="wrapped.json")
    assert len(plans) == 1
    assert plans[0].changes[0].address == "aws_s3_bucket.logs"
    assert plans[0].digest == "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def test_several_documents_are_several_plans() -> None:
    first = _one_change_plan()
    second = plan_bytes(resource("aws_db_instance.main", ["create"], after={"engine": "pg"}))
    pretty = orjson.dumps(orjson.loads(second), option=orjson.OPT_INDENT_2)
    terragrunt = b"\n".join(
        [b"time=2026-11-26 level=info msg=run-all show", first, pretty, first + second]
    )
    plans = read_plans(terragrunt, source="run-all.json")
    assert [plan.index for plan in plans] == [0, 1, 2, 3]
    assert [plan.changes[0].address for plan in plans] == [
        "aws_s3_bucket.logs",
        "aws_db_instance.main",
        "aws_s3_bucket.logs",
        "aws_db_instance.main",
    ]
    assert plans[1].digest == "sha256:" + hashlib.sha256(pretty).hexdigest()
    assert plans[0].digest == plans[2].digest


@pytest.mark.parametrize("actions", [["forget", "create"], ["create", "forget"]])
def test_opentofu_and_terraform_forget_with_create_are_one_action(actions: list[str]) -> None:
    data = plan_bytes(resource("aws_s3_bucket.logs", actions, before={}, after={}))
    (plan,) = read_plans(data)
    assert plan.changes[0].action is Action.FORGET_CREATE


@pytest.mark.parametrize("version", ["0.1", "0.2", "1.0", "1.1", "1.2", "1.9", "1.10"])
def test_every_0x_and_1x_format_is_read(version: str) -> None:
    (plan,) = read_plans(_one_change_plan(format_version=version))
    assert plan.format_version == version


@pytest.mark.parametrize("version", ["2.0", "3.1", "10.0"])
def test_a_major_format_version_of_two_or_more_is_rejected(version: str) -> None:
    with pytest.raises(PlanFormatUnsupported, match=rf"plan format {version}.*0\.x and 1\.x"):
        read_plans(_one_change_plan(format_version=version), source="future.json")


def test_a_format_version_that_is_no_version_is_rejected() -> None:
    with pytest.raises(PlanFormatUnsupported, match="not a version number"):
        read_plans(_one_change_plan(format_version="banana"))


def test_a_truncated_plan_says_where_it_stops() -> None:
    pretty = orjson.dumps(orjson.loads(_one_change_plan()), option=orjson.OPT_INDENT_2)
    cut = pretty[: len(pretty) // 2]
    with pytest.raises(PlanUnreadable, match="truncated") as caught:
        read_plans(cut, source="cut.json")
    lines = cut.split(b"\n")
    assert caught.value.details["line"] == len(lines)
    assert caught.value.message.startswith(f"cut.json:{len(lines)}:{len(lines[-1]) + 1}:")


def test_malformed_json_says_line_and_column() -> None:
    broken = b'{\n  "format_version": "1.2",\n  "planned_values": {,}\n}\n'
    with pytest.raises(PlanUnreadable, match=r"^bad\.json:3:22: not valid JSON") as caught:
        read_plans(broken, source="bad.json")
    assert (caught.value.details["line"], caught.value.details["column"]) == (3, 22)


def test_a_binary_plan_is_not_json_and_says_what_to_run() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tfplan", b"binary")
    with pytest.raises(PlanNotJson, match="binary plan file") as caught:
        read_plans(buffer.getvalue(), source="tfplan")
    assert "terraform show -json tfplan" in caught.value.hint


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"{}", "empty JSON object"),
        (b"[]", "JSON array"),
        (b'"plan"', "no JSON document"),
        (b"", "it is empty"),
        (b"Terraform will perform the following actions:\n", "no JSON document"),
        (
            b'{"version": 4, "terraform_version": "1.5.0", "serial": 3, "lineage": "x",'
            b' "outputs": {}, "resources": []}',
            "state file",
        ),
        (
            b'{"format_version": "1.0", "terraform_version": "1.5.0", "values": {}}',
            "show -json` of a state",
        ),
        (b'{"format_version": "1.2"}', "no planned_values"),
        (b'{"resource_changes": []}', "no format_version"),
    ],
)
def test_json_that_is_not_a_plan_says_what_it_looks_like(data: bytes, says: str) -> None:
    with pytest.raises(PlanUnreadable, match=says):
        read_plans(data, source="x.json")


def test_a_field_of_the_wrong_type_names_its_path() -> None:
    data = plan_bytes({**resource("a_b.c", ["create"], after={}), "address": 7})
    with pytest.raises(PlanUnreadable, match=r"resource_changes\[0\]\.address"):
        read_plans(data)


def test_unknown_fields_and_reasons_are_tolerated_and_unknown_actions_are_not() -> None:
    change = resource("a_b.c", ["delete"], before={}, action_reason="delete_because_aliens")
    change["change"]["future_field"] = {"x": 1}
    (plan,) = read_plans(plan_bytes(change, future_top_level=[1, 2]))
    assert plan.changes[0].reason == "delete_because_aliens"
    unknown = resource("a_b.c", ["teleport"], before={})
    with pytest.raises(PlanUnreadable, match=r"a_b\.c has actions \[\"teleport\"\]") as raised:
        read_plans(plan_bytes(unknown))
    assert "upgrade signalbox" in (raised.value.hint or "")


@pytest.mark.parametrize(
    "actions", [["delete", "update"], ["update", "delete"], ["delete", "delete"]]
)
def test_an_unknown_combination_that_deletes_fails_closed_without_advising_an_upgrade(
    actions: list[str],
) -> None:
    change = resource("aws_s3_bucket.logs", actions, before={}, after={})
    with pytest.raises(PlanUnreadable, match="may destroy the object") as raised:
        read_plans(plan_bytes(change))
    assert "upgrade" not in str(raised.value).lower()
    assert "upgrade" not in (raised.value.hint or "").lower()


@pytest.mark.parametrize("actions", [[], ["move"], ["update", "create"], ["no-op", "no-op"]])
def test_an_unknown_list_that_cannot_destroy_is_read_with_a_low_note(actions: list[str]) -> None:
    change = resource("aws_s3_bucket.logs", actions, before={}, after={})
    (plan,) = read_plans(plan_bytes(change))
    analysis = analyse(plan, catalog=CATALOG, policy=DEFAULT_POLICY)
    assert [(f.id, f.severity.value) for f in analysis.findings] == [("unknown-action", "low")]
    assert analysis.verdict is Verdict.ROUTINE
    assert analysis.counts["unknown"] == 1
    assert "which no Terraform writes" in analysis.findings[0].message


def test_a_change_without_actions_or_without_change_is_not_read_as_doing_nothing() -> None:
    no_actions = resource("aws_s3_bucket.logs", ["delete"], before={})
    del no_actions["change"]["actions"]
    with pytest.raises(PlanUnreadable, match="actions"):
        read_plans(plan_bytes(no_actions))
    no_change = resource("aws_s3_bucket.logs", ["delete"], before={})
    del no_change["change"]
    with pytest.raises(PlanUnreadable, match="change"):
        read_plans(plan_bytes(no_change))


def test_plans_without_resource_changes_have_no_changes() -> None:
    (plan,) = read_plans(b'{"format_version": "1.2", "planned_values": {}, "errored": true}')
    assert plan.changes == []
    assert plan.errored is True
    assert plan.complete is False


def test_drift_without_address_gets_one_from_its_parts() -> None:
    drifted = resource("module.net.aws_vpc.main", ["update"], before={}, after={})
    del drifted["address"]
    drifted["index"] = "eu"
    data_source = resource("data.aws_ami.ubuntu", ["read"], mode="data", before={}, after={})
    del data_source["address"]
    (plan,) = read_plans(plan_bytes(resource_drift=[drifted, data_source]))
    assert [change.address for change in plan.drift] == [
        'module.net.aws_vpc.main["eu"]',
        "data.aws_ami.ubuntu",
    ]


def test_terraform_1_0_drift_takes_the_address_of_the_one_matching_change() -> None:
    plan = read_plans(fixture_bytes("public/terraform-compliance/issue-522.json"))[0]
    addresses = {change.address for change in plan.drift}
    assert "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]" in addresses
    assert "aws_lambda_function.lambda" in addresses
    assert all(change.address for change in plan.drift)


def test_the_model_names_every_part_of_a_change() -> None:
    change = resource(
        'module.a.aws_db_instance.main["k"]',
        ["delete", "create"],
        before={"engine": "pg"},
        after={"engine": "pg"},
        index="k",
        action_reason="replace_because_cannot_update",
        replace_paths=[["network_interface", 0, "subnet_id"]],
        previous_address="aws_db_instance.old",
        deposed="00abc",
        importing={"id": "db-1"},
    )
    change["change"]["after_sensitive"] = {"password": True}
    (plan,) = read_plans(plan_bytes(change))
    model = plan.changes[0]
    assert (model.module, model.type, model.name, model.index) == (
        "module.a",
        "aws_db_instance",
        "main",
        "k",
    )
    assert model.provider == "registry.terraform.io/hashicorp/aws"
    assert model.managed and model.importing
    assert model.action is Action.REPLACE and model.action.deletes_object
    assert model.reason == "replace_because_cannot_update"
    assert model.replace_paths == [["network_interface", 0, "subnet_id"]]
    assert (model.previous_address, model.deposed) == ("aws_db_instance.old", "00abc")
    assert bytes(model.after_sensitive) == b'{"password":true}'


def test_a_big_plans_digest_is_the_sha256_of_its_bytes() -> None:
    filler = {"setting": "x" * 2000}
    changes = [
        resource(f"aws_iam_role.r{i}", ["no-op"], before=filler, after=filler) for i in range(2500)
    ]
    data = plan_bytes(*changes)
    assert len(data) > 8 << 20
    (plan,) = read_plans(data)
    assert plan.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert len(plan.changes) == 2500


@pytest.mark.parametrize("enabled", [True, False])
def test_reading_and_analysing_leave_the_garbage_collector_alone(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        (plan,) = read_plans(_one_change_plan())
        analyse(plan, catalog=EMPTY_CATALOG, policy=DEFAULT_POLICY)
        with pytest.raises(PlanUnreadable):
            read_plans(b'{"format_version": 1}')
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_malformed_second_document_is_located_in_the_whole_file() -> None:
    data = _one_change_plan() + b"\n" + b'{"format_version": "1.2",\n "planned_values": {]}\n'
    with pytest.raises(PlanUnreadable, match=r"^two\.json:3:21: not valid JSON"):
        read_plans(data, source="two.json")


def test_terragrunt_log_lines_are_noise_but_a_json_array_is_a_document() -> None:
    plan = _one_change_plan()
    logged = b"[terragrunt] 2026/11/26 Running command: terraform show -json\n" + plan
    assert len(read_plans(logged)) == 1
    with pytest.raises(PlanUnreadable, match=r"document 2.*JSON array"):
        read_plans(plan + b"\n[1, 2]\n")


# ------------------------------------------------------------------------------ fail closed:
# text around plans (fixtures in derived/reading, see its MANIFEST.md)


def _damaged(name: str) -> bytes:
    return (DAMAGED / name).read_bytes()


def _unreadable(data: bytes, source: str = "plan.json") -> PlanUnreadable:
    with pytest.raises(PlanUnreadable) as raised:
        read_plans(data, source=source)
    return raised.value


def test_a_stray_brace_in_a_compact_plan_stops_the_check_at_the_rest_of_the_line() -> None:
    data = _damaged("fixture-delete.compact-stray-brace.txt")
    error = _unreadable(data, "stray.json")
    offset = error.details["offset"]
    assert data[offset - 1 : offset + 1] == b"},"
    assert (error.details["line"], error.details["column"]) == (1, offset + 1)
    assert error.message.startswith(f"stray.json:1:{offset + 1}: the JSON document that starts")
    assert f"ends at line 1, column {offset} (byte {offset - 1})" in error.message
    assert '`,"resource_changes": ...`' not in error.message  # shown with a space after marks
    assert '`, "resource_changes": ...`' in error.message
    assert "a stray `}` closes the plan early" in error.message


def test_a_stray_brace_in_a_pretty_plan_says_where_the_document_ended() -> None:
    data = _damaged("fixture-delete.pretty-stray-brace.txt")
    error = _unreadable(data, "pretty.json")
    assert "document 2" not in error.message
    assert error.message.startswith("pretty.json:6:5: the JSON document that starts at line 1")
    assert "ends at line 6, column 4 (byte 108)" in error.message
    assert 'the line goes on with `, "resource_changes": ...` (byte 109)' in error.message
    assert data[108:110] == b"},"


def test_utf16_positions_are_bytes_of_the_file_and_lines_and_columns_characters() -> None:
    utf16 = _damaged("fixture-delete.utf16-stray-brace.txt")
    utf8 = _damaged("fixture-delete.pretty-stray-brace.txt")
    in_utf8, in_utf16 = _unreadable(utf8), _unreadable(utf16)
    assert (in_utf16.details["line"], in_utf16.details["column"]) == (6, 5)
    assert in_utf16.details["offset"] == 2 + 2 * in_utf8.details["offset"]  # BOM + 2 per char
    assert utf16[in_utf16.details["offset"] :].startswith(",".encode("utf-16-le"))
    assert "(byte 218)" in in_utf16.message and "(byte 220)" in in_utf16.message
    with_bom = _unreadable(b"\xef\xbb\xbf" + utf8)
    assert with_bom.details["offset"] == 3 + in_utf8.details["offset"]


def test_columns_count_characters_not_bytes() -> None:
    data = '{"format_version": "1.2", "planned_values": {"é€": 1}}, "resource_changes": []}'
    error = _unreadable(data.encode())
    assert error.details["column"] == data.index(', "resource_changes"') + 1
    assert error.details["offset"] == data.encode().index(b', "resource_changes"')


def test_text_after_a_document_on_its_line_is_not_skipped() -> None:
    plan = _one_change_plan()
    error = _unreadable(plan + b"  done\n" + plan)
    assert "the line goes on with text without quotes" in error.message
    assert error.details["column"] == len(plan) + 3
    assert len(read_plans(plan + b" \t\r\n" + plan + plan)) == 3  # blanks, or documents


def test_every_kind_of_known_noise_is_skipped_and_both_plans_are_read() -> None:
    plans = read_plans(_damaged("run-all-with-logs.txt"), source="run-all.log")
    assert [plan.changes[0].address for plan in plans] == [
        "local_file.foo",
        "module.environment.local_file.bar[0]",
    ]
    multi = fixture_bytes("public/tfplan-validator/multi-env-dev3.json").strip()
    assert plans[1].digest == "sha256:" + hashlib.sha256(multi).hexdigest()


@pytest.mark.parametrize(
    "line",
    [
        b"[command]/home/runner/work/_temp/terraform-bin show -json tfplan",
        b"::debug::stdout: {}",
        b"::set-output name=exitcode::0",
        b"::group::Plan",
        b"::endgroup::",
        b"::warning file=main.tf,line=1::deprecated",
        b"::error::Terraform exited with code 1.",
        b"[terragrunt] 2021/05/12 10:00:00 Running command: terraform show -json tfplan",
        b"INFO[0000] Executing hook: tflint",
        b"WARN[0012] No double-slash (//) found in source URL",
        b"ERRO[0003] Module ignored",
        b"DEBU[0000] Found locals block",
        b'time=2024-05-12T10:00:00Z level=info msg="Downloading Terraform configurations"',
        b'time="2024-05-12 10:00:00" level=warning msg=x',
        b"10:00:02.315 INFO   [prod] Downloading Terraform configurations",
        b"10:00:02.315 STDOUT [prod] terraform: Refreshing state...",
        b"10:00:02.315 STDERR terraform: Acquiring state lock.",
        b"10:00:02.315 TRACE x",
        b"\x1b[2m10:00:02.315\x1b[0m \x1b[31mERROR\x1b[0m  [prod] exit status 1",
        b"\x1b[36mINFO\x1b[0m[0000] coloured logrus",
    ],
)
def test_each_known_noise_line_is_skipped(line: bytes) -> None:
    plan = _one_change_plan()
    plans = read_plans(line + b"\r\n" + plan + b"\n" + line + b"\n")
    assert [p.changes[0].address for p in plans] == ["aws_s3_bucket.logs"]


@pytest.mark.parametrize(
    "line",
    [
        b"Releasing state lock. This may take a few moments...",
        b"INFO something without a counter",
        b"[info] not terragrunt",
        b"10:00 INFO short time",
        b"10:00:02.315 NOTICE unknown level",
        b"level=info msg=no time first",
        b": not a workflow command",
        b"}",
        b"[1, 2",
    ],
)
def test_a_line_that_is_not_known_noise_stops_the_check(line: bytes) -> None:
    plan = _one_change_plan()
    before = _unreadable(line + b"\n" + plan)
    assert before.message.startswith("plan.json:1:1: line 1 holds ")
    after = _unreadable(plan + b"\n" + line + b"\n")
    assert after.message.startswith("plan.json:2:1: the JSON document that starts at line 1")
    assert after.details["offset"] == len(plan) + 1


def test_an_unknown_line_between_two_plans_is_located() -> None:
    data = _damaged("run-all-with-an-unknown-line.txt")
    error = _unreadable(data, "run-all.log")
    offset = data.index(b"Releasing state lock")
    assert error.details == {"source": "run-all.log", "line": 11, "column": 1, "offset": offset}
    assert "line 11 holds `Releasing...`" in error.message  # the first word only
    assert "terragrunt's log lines" in error.hint


# ------------------------------------------------------------------------------ no raw bytes


def _assert_printable(error: PlanUnreadable) -> None:
    for text in (error.message, error.hint):
        assert text.isprintable(), repr(text)


def test_gzip_input_says_gunzip_it_first() -> None:
    error = _unreadable(_damaged("fixture-delete.json.gz"), "plan.json.gz")
    assert error.message == "plan.json.gz is gzip-compressed, not plan JSON: gunzip it first."
    assert "gunzip -c plan.json.gz > plan.json" in error.hint
    _assert_printable(error)


def test_nul_bytes_are_described_not_echoed() -> None:
    data = _damaged("fixture-delete.zero-filled.txt")
    error = _unreadable(data, "cut.json")
    assert error.details["offset"] == 512
    assert "found a NUL byte (binary data, not text)" in error.message
    _assert_printable(error)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (bytes((i * 131 + 7) % 256 for i in range(2048)), "it holds binary data, not text"),
        (b"\x00\x00\x00\x00\x01\x02", "it holds binary data, not text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "it holds binary data, not text"),
        (b"\x07" + b"bell ringing " * 3, "the control character 0x07"),
        (b"caf\xc3\xa9 au lait\n", "`caf\\xc3\\xa9...`"),
        # only the first word of a line: the rest may be a secret
        (b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n", "`AWS_SECRET_ACCESS_KEY...`"),
        (b"+ export TF_VAR_db_password=hunter2\n", "`+...`"),
        (b"x" * 300 + b"\n", "`" + "x" * 40 + "...`"),
    ],
)
def test_what_a_file_without_json_holds_is_said_without_raw_bytes(data: bytes, says: str) -> None:
    error = _unreadable(data)
    assert says in error.message
    assert b"wJalr" not in str(error).encode() and b"hunter2" not in str(error).encode()
    _assert_printable(error)


def test_a_string_after_a_plan_is_described_not_quoted() -> None:
    error = _unreadable(_one_change_plan() + b'\n"hunter2-secret" trailing\n')
    assert "line 2 holds a JSON string" in error.message
    assert "hunter2" not in str(error)


def test_a_key_that_is_not_utf8_is_located() -> None:
    data = fixture_bytes("public/tfplan-validator/fixture-delete.json")
    position = data.index(b'"terraform_version"') + 3
    damaged = data[:position] + b"\x80" + data[position + 1 :]
    error = _unreadable(damaged, "bad.json")
    assert error.details["offset"] == position
    assert "not valid JSON: text that is not UTF-8" in error.message
    assert "bytes that are not UTF-8 text" in error.message
    _assert_printable(error)


def test_a_value_that_lost_its_quote_is_never_shown() -> None:
    data = fixture_bytes("public/tfplan-validator/fixture-delete.json")
    damaged = data.replace(b'"content": "foo!"', b'"content":  foo!"', 1)
    error = _unreadable(damaged)
    assert "found text without quotes" in error.message
    assert "foo!" not in str(error)


def test_a_log_line_that_holds_a_plan_after_its_prefix_stops_the_check() -> None:
    plan = _one_change_plan()
    prefixed = b"10:00:02.401 STDOUT [prod] terraform: " + plan.strip()
    error = _unreadable(plan + b"\n" + prefixed + b"\n")
    assert "holds a plan after its prefix" in error.message
    assert (error.details["line"], error.details["offset"]) == (2, len(plan) + 1)


def test_the_wrappers_debug_copies_of_the_plan_are_still_skipped() -> None:
    plan = _one_change_plan()
    copies = b"::debug::stdout: " + plan.strip() + b"\n::set-output name=stdout::" + plan.strip()
    assert len(read_plans(plan + b"\n" + copies + b"\n")) == 1
