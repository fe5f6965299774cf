"""Latency of ``octodns-rancher watch``: from a rancher-metadata reload to the commit on disk,
or, with ``--mode apply``, to the change request at the DNS provider.

The real command runs in a subprocess against the local metadata server (127.0.0.1) and a
working clone of a bare repository in a temporary directory. Each step reloads the server with
an environment in which one service in ten moved to another host (10 % of the records change),
then waits until the branch ref in ``.git`` moves. The figure that matters is the latency beyond
the quiet period: the time the loop itself takes to notice, read, generate, write and commit.

    .venv/bin/python bench/bench_watch.py                       # 50 changes, quiet 2 s
    .venv/bin/python bench/bench_watch.py --changes 100 --push  # also push each commit

Results are printed and saved in ``bench/results/watch-<time>.json``.

``--mode apply`` runs ``watch --apply`` (``bench/watch_apply.py``) against Route53 on moto or
the real PowerDNS, through a logging proxy, and moves one container per step (one record
changes): the time from the reload to the change request at the provider, the watch process's
CPU time per cycle, and the provider calls per cycle::

    .venv/bin/python bench/bench_watch.py --mode apply --provider route53 --records 10000
    .venv/bin/python bench/bench_watch.py --mode apply --provider powerdns --records 1000
    .venv/bin/python bench/bench_watch.py --mode apply --provider route53 --before /tmp/old
    .venv/bin/python bench/bench_watch.py --mode apply --provider bind --records 1000

BIND (RFC 2136, TSIG) has no HTTP API to put a proxy in front of: its requests are named's own
counts (statistics channel), and the time is to the watch's log line of the applied sync.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import synth  # noqa: E402
from tests.support.metadata_server import MetadataServer  # noqa: E402

BIN = Path(sys.executable).parent
ZONE = "example.com"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(base: Path) -> Path:
    remote, work = base / "remote.git", base / "work"
    git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(base, "clone", "--quiet", str(remote), str(work))
    git(work, "checkout", "--quiet", "-B", "main")
    git(work, "config", "user.name", "bench")
    git(work, "config", "user.email", "bench@example.invalid")
    (work / "README.md").write_text("bench\n")
    git(work, "add", "README.md")
    git(work, "commit", "--quiet", "-m", "init")
    git(work, "push", "--quiet", "origin", "main")
    return work


def ref(work: Path) -> str:
    return (work / ".git" / "refs" / "heads" / "main").read_text().strip()


def wait_ref_change(work: Path, before: str, timeout: float) -> float:
    """Poll the branch ref until it differs from ``before``; the perf_counter time it did."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if ref(work) != before:
            return time.perf_counter()
        time.sleep(0.002)
    raise TimeoutError(f"no commit within {timeout} s")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run(changes: int, quiet: float, containers: int, push: bool) -> dict:
    trees = [synth.tree(containers, g) for g in range(changes + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = make_repo(Path(tmp))
        with MetadataServer({"2016-07-29": trees[0]}) as srv:
            env = dict(
                os.environ,
                METADATA_URL=srv.url,
                ROOT_DOMAIN=ZONE,
                QUIET_PERIOD=str(quiet),
                LISTEN_ADDRESS="127.0.0.1:0",
                ZONES_PUSH="1" if push else "",
            )
            proc = subprocess.Popen(
                [str(BIN / "octodns-rancher"), "-q", "watch"],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                start = ref(work)
                wait_ref_change(work, start, 60)
                latencies = []
                for g in range(1, changes + 1):
                    if push:  # the previous push must be done before the next change
                        while git(work, "rev-parse", "origin/main") != ref(work):
                            time.sleep(0.01)
                    time.sleep(0.1)  # let the loop return to its long-poll
                    before = ref(work)
                    t0 = time.perf_counter()
                    srv.reload({"2016-07-29": trees[g]})
                    latencies.append(wait_ref_change(work, before, quiet + 30) - t0)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                raise SystemExit(f"watch exited {proc.returncode}:\n{err}")
            commits = int(git(work, "rev-list", "--count", "HEAD"))
    beyond = [lat - quiet for lat in latencies]
    return {
        "changes": changes,
        "containers": containers,
        "records": containers // synth.PER_SERVICE,
        "quiet_period_s": quiet,
        "push": push,
        "commits": commits - 1,
        "latency_s": {
            "p50": round(statistics.median(latencies), 4),
            "p95": round(percentile(latencies, 0.95), 4),
            "max": round(max(latencies), 4),
        },
        "beyond_quiet_s": {
            "p50": round(statistics.median(beyond), 4),
            "p95": round(percentile(beyond, 0.95), 4),
            "max": round(max(beyond), 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--changes", type=int, default=50, help="metadata changes to time (50)")
    p.add_argument("--quiet", type=float, default=2.0, help="quiet period in seconds (2)")
    p.add_argument("--containers", type=int, default=1000, help="environment size (1000)")
    p.add_argument("--push", action="store_true", help="also push every commit to a bare repo")
    p.add_argument("--mode", choices=("gitops", "apply"), default="gitops", help="(gitops)")
    p.add_argument("--provider", choices=("route53", "powerdns", "bind"), default="route53")
    p.add_argument("--records", type=int, default=1000, help="apply mode: records (1000)")
    p.add_argument("--values", type=int, default=4, help="apply mode: addresses per record (4)")
    p.add_argument(
        "--per-service",
        type=int,
        default=0,
        help="apply mode: containers per service (default: --values, one per host)",
    )
    p.add_argument(
        "--before", type=Path, help="apply mode: a checkout of an older version to measure"
    )
    args = p.parse_args(argv)
    if args.mode == "apply":
        from bench import watch_apply

        return watch_apply.main(args)
    if not 1 <= args.changes < synth.host_count(args.containers):
        p.error("--changes must be at least 1 and below the host count")
    result = run(args.changes, args.quiet, args.containers, args.push)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"watch-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"saved {out}")
    target = result["beyond_quiet_s"]["p95"] <= 1.0
    print(f"p95 beyond the quiet period {'within' if target else 'ABOVE'} the 1 s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
