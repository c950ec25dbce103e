#!/usr/bin/env python3
"""How fast is `signalbox check` on big plans, against floors measured in the same run?

For each size (1,000, 10,000 and 100,000 changes by default) a deterministic synthetic plan is
written to bench/out/ (see synthetic_plan.py; reused while its generator version and seed are
the same). Then four commands run as whole processes, interpreter start included, each N
times, interleaved so that machine noise hits them alike:

- json:    signalbox check FILE --env dev --format json   (the venv's console script)
- text:    signalbox check FILE --env dev --format text   (the report a person reads, Rich,
           written to a pipe as in CI; COLUMNS=120)
- orjson:  python -c "import orjson,sys; orjson.loads(open(sys.argv[1],'rb').read())"
           (a naive load: the cyclic garbage collector on, as any program would have it)
- msgspec: a typed msgspec decode of resource_changes (address, type, change.actions,
           before, after ... as plain Python types, not msgspec.Raw)

It prints the median wall time, MB/s, the ratio of check to each floor, the median CPU time
(user + sys) and the peak RSS of each process (both from os.wait4, per child), then the
speed targets (judged on wall time; "check" is the json command):
  10,000 changes:  check < 0.5 x the orjson floor
  10,000 changes:  text <= 1.2 x json (rendering costs little next to reading the plan)
  100,000 changes: check < 3 x the msgspec floor, and peak RSS < 2.5 GB

Usage: .venv/bin/python bench/plan_check.py [--sizes 1000,10000] [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from synthetic_plan import GENERATOR_VERSION, PlanStats, rename_count, write_plan

OUT = Path(__file__).resolve().parent / "out"
SEED = 20261126
DEFAULT_SIZES = (1_000, 10_000, 100_000)
ORJSON_FLOOR = "import orjson,sys; orjson.loads(open(sys.argv[1],'rb').read())"
MSGSPEC_FLOOR = """\
import sys
from typing import Any
import msgspec

class Change(msgspec.Struct):
    actions: list[str]
    before: Any = None
    after: Any = None
    after_unknown: Any = None
    before_sensitive: Any = None
    after_sensitive: Any = None
    replace_paths: list[list[str | int]] | None = None
    importing: dict[str, Any] | None = None

class ResourceChange(msgspec.Struct):
    address: str
    type: str
    name: str
    change: Change
    mode: str = "managed"
    module_address: str | None = None
    index: int | str | None = None
    provider_name: str = ""
    action_reason: str | None = None
    previous_address: str | None = None
    deposed: str | None = None

class Plan(msgspec.Struct):
    format_version: str
    resource_changes: list[ResourceChange] = []

with open(sys.argv[1], "rb") as plan_file:
    msgspec.json.decode(plan_file.read(), type=Plan)
"""


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int
    lines: int = 0


@dataclass
class Measured:
    label: str
    samples: list[Sample]

    @property
    def median(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def median_cpu(self) -> float:
        return statistics.median(sample.cpu_seconds for sample in self.samples)

    @property
    def peak_rss(self) -> int:
        return max(sample.peak_rss_bytes for sample in self.samples)


def signalbox_command() -> list[str]:
    script = Path(sys.executable).with_name("signalbox")
    return [str(script)] if script.exists() else [sys.executable, "-m", "signalbox"]


def commands(plan: Path) -> dict[str, list[str]]:
    check = [*signalbox_command(), "check", str(plan), "--env", "dev", "--format"]
    return {
        "json": [*check, "json"],
        "text": [*check, "text"],
        "orjson": [sys.executable, "-c", ORJSON_FLOOR, str(plan)],
        "msgspec": [sys.executable, "-c", MSGSPEC_FLOOR, str(plan)],
    }


def run_once(argv: Sequence[str]) -> Sample:
    """One whole process: wall time from spawn to exit, and its own peak RSS (os.wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "120"}
    )
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout.read()  # a pipe, as in CI; the report is read whole (small)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 3, 4):  # 3 and 4 are check's verdicts, not failures
        tail = stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{argv[0]} ... exited {process.returncode}:\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(elapsed, cpu, usage.ru_maxrss * 1024, process.returncode, stdout.count(b"\n"))


def ensure_plan(changes: int) -> tuple[Path, PlanStats | None]:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"plan-{changes}-seed{SEED}-v{GENERATOR_VERSION}.json"
    if path.exists():
        return path, None
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    stats = write_plan(partial, changes, SEED)
    partial.replace(path)
    print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path, stats


def verify_report(plan: Path, changes: int) -> str:
    """Run check once with its output kept: it must have read every change and the renames."""
    completed = subprocess.run(commands(plan)["json"], capture_output=True, check=False)
    if completed.returncode not in (0, 3, 4):
        raise SystemExit(f"signalbox check failed ({completed.returncode}):\n{completed.stderr!r}")
    document = orjson.loads(completed.stdout)
    [report] = document["plans"]
    counted = sum(report["counts"][key] for key in ("create", "update", "delete", "replace"))
    counted += report["counts"]["read"] + report["counts"]["no-op"] + report["counts"]["forget"]
    renames = sum(finding["id"] == "probable-rename" for finding in report["findings"])
    major = sum(f["severity"] in ("critical", "high", "medium") for f in report["findings"])
    expected_renames = rename_count(changes)
    note = "" if renames == expected_renames else f"  (expected {expected_renames} renames!)"
    return (
        f"verdict {document['verdict']}, {len(report['findings'])} findings ({major} critical, "
        f"high or medium), {renames} probable renames, {counted} changes counted{note}"
    )


def measure(plan: Path, runs: int) -> list[Measured]:
    results = {label: Measured(label, []) for label in commands(plan)}
    for _ in range(runs):
        for label, argv in commands(plan).items():
            results[label].samples.append(run_once(argv))
    return list(results.values())


def print_table(changes: int, plan: Path, measured: list[Measured]) -> dict[str, float]:
    megabytes = plan.stat().st_size / 1e6
    by_label = {entry.label: entry for entry in measured}
    print(f"\n{changes:,} changes, {megabytes:.1f} MB, median of {len(measured[0].samples)} runs")
    header = ("command", "median s", "MB/s", "x orjson", "x msgspec", "CPU s", "peak RSS")
    print("  {:<8} {:>9} {:>8} {:>9} {:>10} {:>8} {:>11}".format(*header))
    for entry in measured:
        print(
            f"  {entry.label:<8} {entry.median:>9.3f} {megabytes / entry.median:>8.1f}"
            f" {entry.median / by_label['orjson'].median:>9.2f}"
            f" {entry.median / by_label['msgspec'].median:>10.2f}"
            f" {entry.median_cpu:>8.3f}"
            f" {entry.peak_rss / 1e6:>8.0f} MB"
        )
    check, text = by_label["json"], by_label["text"]
    print(
        f"  CPU time (user+sys) ratios, less sensitive to a busy machine: json / orjson "
        f"{check.median_cpu / by_label['orjson'].median_cpu:.2f}, json / msgspec "
        f"{check.median_cpu / by_label['msgspec'].median_cpu:.2f}, text / json "
        f"{text.median_cpu / check.median_cpu:.2f}"
    )
    print(
        f"  text / json = {text.median / check.median:.2f} (wall; target <= 1.20); the text "
        f"report is {text.samples[0].lines:,} lines"
    )
    return {
        "vs_orjson": check.median / by_label["orjson"].median,
        "vs_msgspec": check.median / by_label["msgspec"].median,
        "peak_gb": check.peak_rss / 1e9,
        "text_vs_json": text.median / check.median,
    }


def print_targets(ratios: dict[int, dict[str, float]]) -> None:
    print("\nTargets (speed):")
    if 10_000 in ratios:
        value = ratios[10_000]["vs_orjson"]
        verdict = "met" if value < 0.5 else "MISSED"
        print(f"  10,000 changes:  check / naive orjson = {value:.2f} (target < 0.50): {verdict}")
        value = ratios[10_000]["text_vs_json"]
        verdict = "met" if value <= 1.2 else "MISSED"
        print(f"  10,000 changes:  text / json = {value:.2f} (target <= 1.20): {verdict}")
    if 100_000 in ratios:
        value, peak = ratios[100_000]["vs_msgspec"], ratios[100_000]["peak_gb"]
        verdict = "met" if value < 3 and peak < 2.5 else "MISSED"
        print(
            f"  100,000 changes: check / msgspec = {value:.2f} (target < 3.0), "
            f"peak {peak:.2f} GB (target < 2.5): {verdict}"
        )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time signalbox check against JSON floors.")
    parser.add_argument("--sizes", help="comma-separated change counts (default 1000,10000,100000)")
    parser.add_argument("--runs", type=int, help="runs per command (default 5, or 3 at 100,000+)")
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 changes, 1 run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    sizes = DEFAULT_SIZES if not arguments.quick else (1_000, 10_000)
    if arguments.sizes:
        sizes = tuple(int(size.replace("_", "")) for size in arguments.sizes.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, check = {signalbox_command()}")
    ratios: dict[int, dict[str, float]] = {}
    for changes in sizes:
        runs = arguments.runs or (1 if arguments.quick else (3 if changes >= 100_000 else 5))
        plan, _ = ensure_plan(changes)
        print(f"  {changes:,}: {verify_report(plan, changes)}", flush=True)
        ratios[changes] = print_table(changes, plan, measure(plan, runs))
    print_targets(ratios)


if __name__ == "__main__":
    main()
