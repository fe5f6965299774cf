"""Time ``octodns-rancher generate`` against rancher-metadata at 1k, 10k and 100k containers.

Each size is served over HTTP on 127.0.0.1 by the tests' ``MetadataServer`` and read by the real
CLI in a child process, three runs in a row: the first run (no zone file yet), a run that finds
nothing new (the file must stay untouched), and a run after 10 % of the services moved host.
For each run: wall time, peak RSS of the CLI (GNU ``time``'s ``%M``), metadata requests
and whether the file was written. The best wall time of ``--repeat`` rounds is reported.

For comparison, the per-host way of reading the same environment (``/self/stack``,
``/services``, then ``/hosts/<uuid>`` for each host, as Rancher's own external DNS service read
it) is timed against the same server.

    .venv/bin/python bench/bench_generate.py                        # 1k, 10k, 100k
    .venv/bin/python bench/bench_generate.py --sizes 100000 --repeat 5 --json /tmp/gen.json

Run by hand, never in CI: it takes a few minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import synth  # noqa: E402
from tests.support.metadata_server import MetadataServer  # noqa: E402

CLI = Path(sys.executable).parent / "octodns-rancher"
TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time (Debian package "time")
API = "2016-07-29"
ZONE = "example.com"


@dataclass
class Run:
    size: int
    case: str
    seconds: float
    peak_rss_mb: float
    requests: int
    written: bool
    records: int
    exit_code: int


def serve(tree: dict[str, Any]) -> MetadataServer:
    """The tests' server, answering JSON from bodies encoded once per data version.

    The test server encodes every answer on every request with the standard library; at 100k
    containers that is a second of the server's time that the generator would be charged for.
    rancher-metadata itself keeps its answers in memory. Responses go out without Nagle delay.
    """
    srv = MetadataServer({API: tree})
    base = srv.httpd.RequestHandlerClass
    cache: dict[tuple[str, int], bytes] = {}

    class PreEncoded(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # Headers and body go out in two writes; without TCP_NODELAY every request waits
            # for the client's delayed ACK (about 40 ms), which is the test server's cost.
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _json(self, value: Any, accept: str, head: bool) -> None:
            if "application/json" not in accept:
                return super()._json(value, accept, head)
            key = (srv.version, id(value))
            body = cache.get(key)
            if body is None:
                body = cache[key] = orjson.dumps(value)
            self._send(200, body, head)

    srv.httpd.RequestHandlerClass = PreEncoded
    return srv.start()


def warm(srv: MetadataServer) -> None:
    """Encode the answers a run reads before timing it, then forget those requests."""
    with requests.Session() as s:
        for path in ("self/stack", "services", "hosts"):
            s.get(f"{srv.url}/{API}/{path}", headers={"Accept": "application/json"}, timeout=60)
    srv.requests.clear()


def run_cli(srv: MetadataServer, zones: Path, size: int, case: str) -> Run:
    """One ``generate`` in a child process; its wall time and its own peak RSS."""
    path = zones / f"{ZONE}.yaml"
    before = path.read_bytes() if path.exists() else None
    mtime = path.stat().st_mtime_ns if path.exists() else None
    srv.requests.clear()
    cmd = [str(CLI), "generate", "--metadata-url", srv.url, "--zone", ZONE]
    cmd += ["--zones-dir", str(zones)]
    env = {k: v for k, v in os.environ.items() if k not in ("METADATA_FILE", "ROOT_DOMAIN")}
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        # GNU time reports the CLI's own peak RSS: wait4 here would count the pages of this
        # large process that the child shares between fork and exec.
        timed = [TIME, "-f", "%M", "-o", rss.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(timed, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        log = out.read().decode(errors="replace")
        peak_kb = int(rss.read().split()[-1]) if TIME else usage.ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"generate failed at {size} containers ({case}):\n{log}")
    after = path.read_bytes()
    written = before != after or (mtime is not None and path.stat().st_mtime_ns != mtime)
    return Run(
        size=size,
        case=case,
        seconds=seconds,
        peak_rss_mb=peak_kb / 1024,
        requests=len(srv.requests),
        written=written,
        records=sum(1 for line in after.decode().splitlines() if line.startswith("  type: ")),
        exit_code=proc.returncode,
    )


def per_host_reads(srv: MetadataServer, tree: dict[str, Any]) -> tuple[int, float]:
    """Read the environment the per-host way; (requests, seconds)."""
    srv.requests.clear()
    start = time.perf_counter()
    with requests.Session() as s:
        s.headers["Accept"] = "application/json"
        base = f"{srv.url}/{API}"
        s.get(f"{base}/self/stack", timeout=60).json()
        services = s.get(f"{base}/services", timeout=60).json()
        hosts = sorted({c["host_uuid"] for svc in services for c in svc["containers"]})
        for uuid in hosts:
            s.get(f"{base}/hosts/{uuid}", timeout=60).json()
    seconds = time.perf_counter() - start
    return len(srv.requests), seconds


def bench_size(size: int, repeat: int) -> tuple[list[Run], dict[str, Any]]:
    base_tree = synth.tree(size)
    moved_tree = synth.tree(size, generation=1)
    best: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        zones = Path(tmp) / "zones"
        srv = serve(base_tree)
        try:
            for _ in range(repeat):
                srv.reload({API: base_tree})
                warm(srv)
                (zones / f"{ZONE}.yaml").unlink(missing_ok=True)
                runs = [run_cli(srv, zones, size, "first run")]
                runs.append(run_cli(srv, zones, size, "no change"))
                srv.reload({API: moved_tree})
                warm(srv)
                runs.append(run_cli(srv, zones, size, "10 % changed"))
                for r in runs:
                    kept = best.get(r.case)
                    if kept is None or r.seconds < kept.seconds:
                        r.peak_rss_mb = max(r.peak_rss_mb, kept.peak_rss_mb if kept else 0)
                        best[r.case] = r
                    else:
                        kept.peak_rss_mb = max(kept.peak_rss_mb, r.peak_rss_mb)
            srv.reload({API: base_tree})
            warm(srv)
            requests_made, seconds = per_host_reads(srv, base_tree)
        finally:
            srv.stop()
    hosts = len(base_tree["hosts"])
    compare = {"size": size, "hosts": hosts, "requests": requests_made, "seconds": seconds}
    return list(best.values()), compare


def stages(size: int) -> str:
    """Seconds per stage of one run in this process, as ``pipeline.compute`` runs them."""
    import gc

    from octodns_rancher import model, publish, records, render
    from octodns_rancher.source import MetadataClient

    srv = serve(synth.tree(size))
    try:
        warm(srv)
        times: list[tuple[str, float]] = []
        gc.disable()
        start = time.perf_counter()
        snap = MetadataClient(srv.url).fetch()
        times.append(("fetch and decode", time.perf_counter() - start))
        start = time.perf_counter()
        env = model.build(snap)
        times.append(("model", time.perf_counter() - start))
        start = time.perf_counter()
        recs = records.desired_records(env, records.Settings(ZONE))
        times.append(("records", time.perf_counter() - start))
        start = time.perf_counter()
        text = render.render_octodns(recs, ZONE)
        times.append(("render", time.perf_counter() - start))
        start = time.perf_counter()
        publish.summarize(text, text)
        times.append(("compare with the file", time.perf_counter() - start))
    finally:
        gc.enable()
        srv.stop()
    return ", ".join(f"{name} {sec:.2f} s" for name, sec in times)


def table(runs: list[Run], compare: list[dict[str, Any]]) -> str:
    lines = [
        "| containers | run | wall time | peak RSS | metadata requests | file written | records |",
        "|---:|---|---:|---:|---:|---|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.size:,} | {r.case} | {r.seconds:.2f} s | {r.peak_rss_mb:.0f} MB | "
            f"{r.requests} | {'yes' if r.written else 'no'} | {r.records:,} |"
        )
    lines += [
        "",
        "| containers | hosts | per-host reads: requests | time | ratio to ours |",
        "|---:|---:|---:|---:|---:|",
    ]
    ours = {r.size: r.requests for r in runs if r.case == "first run"}
    for c in compare:
        ratio = c["requests"] / ours[c["size"]] if ours.get(c["size"]) else float("nan")
        lines.append(
            f"| {c['size']:,} | {c['hosts']:,} | {c['requests']:,} | {c['seconds']:.2f} s | "
            f"{ratio:.0f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (best is kept)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--stages", action="store_true", help="only time each stage in-process, per size"
    )
    args = parser.parse_args(argv)
    if args.stages:
        for size in args.sizes:
            sys.stdout.write(f"{size:,} containers: {stages(size)}\n")
        return 0
    runs: list[Run] = []
    compare = []
    for size in args.sizes:
        r, c = bench_size(size, args.repeat)
        runs += r
        compare.append(c)
    sys.stdout.write(table(runs, compare) + "\n")
    if args.json:
        args.json.write_text(
            json.dumps({"runs": [asdict(r) for r in runs], "per_host": compare}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
