#!/usr/bin/env python3
"""The Autobahn TestSuite cases against a real edge's WebSocket, with kosoku as the runner.

Starts `adashta edge --test-echo-path /echo` on free loopback ports, runs the selected cases
(run_fuzzingclient; one connection per case, one case at a time), prints one line per case
that did not pass and a summary, and writes every result as JSON to --report.

Exit status 0 when every case passes or is listed in expected_failures.txt (with its reason);
1 when any other case does not pass; 2 when the run could not be made (kosoku missing, the
edge does not start). A listed case that passes is reported, so the list stays honest.

    python3 tests/autobahn/run_cases.py --adashta build/adashta            # the default cases
    python3 tests/autobahn/run_cases.py --adashta build/adashta --cases '9.*' --max-frame 67108864
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Framing (1-4), fragmentation (5), UTF-8 (6), close handling (7) and a message larger than one
# frame (10). 9.* (performance) needs --max-frame of 16 MiB and more; 12.* and 13.* test
# permessage-deflate, which the edge does not offer (they come out UNIMPLEMENTED).
DEFAULT_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
ECHO_PATH = "/echo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_expected(path: Path) -> dict[str, str]:
    """CASE -> reason, from lines `CASE  reason`; # starts a comment."""
    expected = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        case, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{path}:{number}: case {case} has no reason; write why it is expected to fail")
        expected[case] = reason.strip()
    return expected


def wait_healthy(url: str, edge: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if edge.poll() is not None:
            raise RuntimeError(f"the edge exited with {edge.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the edge did not answer {url}/healthz within {timeout} s")


def describe(result) -> str:
    return (f"{result.case_id}: {result.behavior.value} / close {result.behavior_close.value}"
            f" (edge's close code {result.remote_close_code}): {result.result}"
            f" {result.result_close}")


async def run(url: str, cases: list[str], exclude: list[str]):
    from kosoku import FailureError, run_fuzzingclient

    try:
        return await run_fuzzingclient(url, cases=cases, exclude_cases=exclude or None)
    except FailureError as failure:
        return failure.results  # every case's result, the failed ones among them


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adashta", required=True, help="the adashta binary to test")
    parser.add_argument("--cases", action="append", help="case id or glob (repeatable); default: 1.* to 7.*")
    parser.add_argument("--exclude", action="append", default=[], help="case id or glob to leave out")
    parser.add_argument("--expected", default=str(HERE / "expected_failures.txt"))
    parser.add_argument("--max-frame", default=None, help="--max-frame for the edge (9.* needs 16 MiB+)")
    parser.add_argument("--report", default=None, help="write every result here as JSON")
    args = parser.parse_args()

    try:
        import kosoku  # noqa: F401
    except ImportError:
        print("run_cases: the Python package kosoku is missing; scripts/setup.sh installs it "
              "(python3 -m pip install kosoku==0.1.0)", file=sys.stderr)
        return 2

    expected = read_expected(Path(args.expected))
    cases = args.cases or DEFAULT_CASES
    data = tempfile.mkdtemp(prefix="adashta-autobahn-")
    http_port, mesh_port = free_port(), free_port()
    command = [args.adashta, "edge", "--http", f"127.0.0.1:{http_port}",
               "--mesh", f"127.0.0.1:{mesh_port}", "--data", data,
               "--test-echo-path", ECHO_PATH]
    if args.max_frame:
        command += ["--max-frame", args.max_frame]
    log_path = Path(data) / "edge.log"
    with open(log_path, "wb") as log:
        edge = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        wait_healthy(f"http://127.0.0.1:{http_port}", edge, 30)
        results = asyncio.run(run(f"ws://127.0.0.1:{http_port}{ECHO_PATH}", cases, args.exclude))
        alive = edge.poll() is None
    except RuntimeError as err:
        print(f"run_cases: {err}\n{log_path.read_text(errors='replace')[-4000:]}", file=sys.stderr)
        return 2
    finally:
        if edge.poll() is None:
            edge.terminate()  # SIGTERM: the edge drains and exits 0
            try:
                edge.wait(20)
            except subprocess.TimeoutExpired:
                edge.kill()
                edge.wait()
        edge_log = log_path.read_text(errors="replace")
        shutil.rmtree(data, ignore_errors=True)
    elapsed = time.monotonic() - started

    if args.report:
        Path(args.report).write_text(json.dumps([{
            "case": r.case_id, "passed": r.passed, "behavior": r.behavior.value,
            "behaviorClose": r.behavior_close.value, "remoteCloseCode": r.remote_close_code,
            "durationMs": r.duration, "result": r.result, "resultClose": r.result_close,
        } for r in results], indent=1) + "\n")

    unexpected = [r for r in results if not r.passed and r.case_id not in expected]
    known = [r for r in results if not r.passed and r.case_id in expected]
    now_passing = [r for r in results if r.passed and r.case_id in expected]
    counts: dict[str, int] = {}
    for r in results:
        counts[r.behavior.value] = counts.get(r.behavior.value, 0) + 1

    for r in known:
        print(f"expected failure  {describe(r)}\n                  reason: {expected[r.case_id]}")
    for r in now_passing:
        print(f"NOW PASSING       {r.case_id}: listed in {args.expected} but passed; remove its line")
    for r in unexpected:
        print(f"FAILED            {describe(r)}")
    print(f"run_cases: {len(results)} cases ({', '.join(cases)}) against {ECHO_PATH} in {elapsed:.1f} s: "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
          + f"; {len(unexpected)} unexpected failures, {len(known)} expected, {len(now_passing)} listed but passing")
    if not results:
        print("run_cases: no case ran; check --cases", file=sys.stderr)
        return 1
    if not alive:
        print(f"run_cases: the edge died during the run\n{edge_log[-4000:]}", file=sys.stderr)
        return 1
    # A sanitizer build reports at exit, or on the error itself, in the edge's log.
    if edge.returncode != 0 or "Sanitizer" in edge_log or "runtime error:" in edge_log:
        print(f"run_cases: the edge exited with {edge.returncode} after the run, or reported an "
              f"error; its log:\n{edge_log[-6000:]}", file=sys.stderr)
        return 1
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
