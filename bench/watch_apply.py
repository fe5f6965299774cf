"""``watch --apply`` at scale: reload → change request, CPU and provider calls per cycle.

Run through ``bench/bench_watch.py --mode apply``. The zone starts in step with the metadata
(records of 4 addresses by default, one container per address, with the config ``init``
renders: per-record ownership markers, so twice as many record sets at the provider), synced
by ``octodns-sync`` before the watch starts; the watch's own start cycle reads the whole zone. Then each step moves
one container of one service to another host (one record gets a new address), reloads the
metadata server (its answers encoded before ``/version`` moves, as rancher-metadata holds them
in memory) and waits for the watch to log its sync. For each step:

- latency: from the reload to the first change request the provider received (through
  ``bench/proxy.py``), and to the end of its answer;
- CPU: the watch process's user + system time over the cycle (``/proc/<pid>/stat``), which
  depends little on what else the machine runs, unlike wall time;
- calls: every request the provider received during the cycle, by operation.

``--before DIR`` runs the watch from another checkout's ``generator/`` (``git archive`` of an
older commit), with the config classes that version had (octoDNS's ``YamlProvider``,
octodns-powerdns's provider); the zone is still populated with the current code, since the
older PowerDNS provider cannot send a large initial sync.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import orjson
from bench import synth
from bench.proxy import LoggingProxy
from tests.support.bind import Bind
from tests.support.metadata_server import MetadataServer
from tests.support.moto_server import MotoServer
from tests.support.pdns import PowerDns

from octodns_rancher.config import render_octodns_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ZONE = "example.com"
TICK = os.sysconf("SC_CLK_TCK")
APPLIED = re.compile(r"octoDNS sync of \S+ applied (\d+) change")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def older_config(text: str) -> str:
    """The config with the classes an older version (before libyaml and request sizing) had."""
    text = text.replace(
        "octodns_rancher.providers.YamlProvider", "octodns.provider.yaml.YamlProvider"
    )
    text = text.replace(
        "octodns_rancher.powerdns.PowerDnsProvider", "octodns_powerdns.PowerDnsProvider"
    )
    return re.sub(r"\n    max_request_bytes: \d+", "", text)


class Provider:
    """The DNS server, its zone, and the environment pointing octoDNS at the proxy.

    BIND speaks DNS, not HTTP: no proxy sits in front of it; named's own statistics channel
    counts what it received (``NamedCalls``), and the time to the change is the time to the
    watch's log line of the applied sync.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "powerdns":
            self.server: Any = PowerDns()
        elif name == "bind":
            self.server = Bind(ZONE)
        else:
            self.server = MotoServer()
        self.upstream: str | None = None

    @property
    def init_provider(self) -> str:
        return "rfc2136" if self.name == "bind" else self.name

    def __enter__(self) -> Provider:
        self.server.__enter__()
        if self.name == "powerdns":
            self.server.create_zone(ZONE)
            self.upstream = f"http://127.0.0.1:{self.server.api_port}"
        elif self.name == "route53":
            self.server.create_zone(ZONE)
            self.upstream = self.server.url
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    def env(self, url: str | None = None) -> dict[str, str]:
        env = dict(self.server.env)
        if url and self.name != "bind":
            if self.name == "powerdns":
                env["PDNS_API_PORT"] = url.rsplit(":", 1)[1]
            else:
                env["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL_ROUTE_53"] = url
        return env


class Call:
    """One kind of request named counted, as ``bench.proxy``'s calls are described."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.is_change = False


class NamedCalls:
    """``LoggingProxy``'s ``since`` for BIND, from named's counters: queries over TCP (the
    read-backs), update messages applied or refused, zone transfers served."""

    COUNTERS: ClassVar[dict[str, str]] = {
        "query (TCP)": "ReqTCP",
        "update": "UpdateDone",
        "update refused": "UpdateRej",
        "zone transfer": "XfrReqDone",
    }

    def __init__(self, bind: Bind) -> None:
        self.bind = bind
        self.url = None
        self.marks: list[tuple[float, dict[str, int]]] = []

    def __enter__(self) -> NamedCalls:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def mark(self) -> float:
        t = time.perf_counter()
        self.marks.append((t, self.bind.counters()))
        return t

    def since(self, t: float) -> list[Call]:
        before = next(c for m, c in reversed(self.marks) if m <= t)
        now = self.bind.counters()
        calls = []
        for operation, key in self.COUNTERS.items():
            n = now.get(key, 0) - before.get(key, 0)
            if operation == "query (TCP)":
                # Zone transfers and updates arrive over TCP too: count only the queries.
                n -= sum(now.get(k, 0) - before.get(k, 0) for k in ("UpdateDone", "UpdateRej")) + (
                    now.get("XfrReqDone", 0) - before.get("XfrReqDone", 0)
                )
            calls += [Call(operation) for _ in range(max(n, 0))]
        return calls


API = "2016-07-29"


class Metadata:
    """The tests' metadata server answering from bodies encoded before each version shows.

    The test server encodes every answer on every request with the standard library, in this
    process: at 10,000 records that is seconds the watch would be charged for. rancher-metadata
    holds its answers in memory and bumps ``/version`` once they are loaded; here the new
    answers are encoded first (``publish``) and the version changes after.
    """

    def __init__(self, tree: dict[str, Any]) -> None:
        self.tree = tree
        self.bodies: dict[tuple[str, int], bytes] = {}
        self.srv = MetadataServer({API: tree})
        base = self.srv.httpd.RequestHandlerClass
        meta = self

        class PreEncoded(base):  # type: ignore[misc, valid-type]
            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _json(self, value: Any, accept: str, head: bool) -> None:
                body = meta.bodies.get((meta.srv.version, id(value)))
                if body is None or "application/json" not in accept:
                    return super()._json(value, accept, head)
                self._send(200, body, head)

        self.srv.httpd.RequestHandlerClass = PreEncoded
        self.encode(self.srv.version)

    def encode(self, version: str) -> None:
        self.bodies = {
            (version, id(node)): orjson.dumps(node)
            for node in (self.tree["self"]["stack"], self.tree["services"], self.tree["hosts"])
        }

    def prepare(self) -> str:
        """Encode the (changed) tree's answers for a new version; its name, for ``show``."""
        version = str(uuid.uuid4())
        self.encode(version)
        return version

    def show(self, version: str) -> None:
        """Make the prepared version current: ``/version`` moves, long-polls return."""
        srv = self.srv
        with srv._cond:
            srv.trees = {API: self.tree}
            srv.version = version
            srv._cond.notify_all()

    def __enter__(self) -> Metadata:
        self.srv.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.srv.stop()


def move_one(tree: dict[str, Any], step: int, spread: int) -> str:
    """Move container 0 of one service to a host it does not run on; the service's name."""
    services, hosts = tree["services"], tree["hosts"]
    s = (step * 7919) % len(services)
    svc = services[s]
    used = {c["host_uuid"] for c in svc["containers"]}
    h = (s * spread + spread + step) % len(hosts)
    while hosts[h]["uuid"] in used:
        h = (h + 1) % len(hosts)
    svc["containers"][0]["host_uuid"] = hosts[h]["uuid"]
    return svc["name"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    per_service = args.per_service or args.values
    tree = synth.tree(args.records * per_service, 0, spread=args.values, per_service=per_service)
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp, Provider(args.provider) as dns:
        site = Path(tmp)
        (site / "zones").mkdir()
        current = render_octodns_config(ZONE, "Production", dns.init_provider, "./zones")
        (site / "current.yaml").write_text(current)
        config = site / "octodns.yaml"
        config.write_text(older_config(current) if args.before else current)
        calls: Any = NamedCalls(dns.server) if dns.name == "bind" else LoggingProxy(dns.upstream)
        with Metadata(tree) as meta, calls as proxy:
            srv = meta.srv
            base_env = {**os.environ, **dns.env()}
            subprocess.run(
                [str(BIN / "octodns-rancher"), "-q", "generate", "--metadata-url", srv.url,
                 "--zone", ZONE, "--zones-dir", "zones"],
                cwd=site, env=base_env, check=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            t = time.perf_counter()
            subprocess.run(
                [str(BIN / "octodns-sync"), "--config-file", "current.yaml", "--doit"],
                cwd=site, env=base_env, check=True, capture_output=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            initial = time.perf_counter() - t
            env = {
                **base_env,
                **dns.env(proxy.url),
                "WATCH_MODE": "apply",
                "OCTODNS_CONFIG": str(config),
                "METADATA_URL": srv.url,
                "ROOT_DOMAIN": ZONE,
                "ZONES_DIR": "zones",
                "QUIET_PERIOD": str(args.quiet),
                "RESYNC_INTERVAL": "3600",
                "LISTEN_ADDRESS": "127.0.0.1:0",
            }
            if args.before:
                env["PYTHONPATH"] = str(Path(args.before).resolve() / "generator")
            proc = subprocess.Popen(
                [str(BIN / "octodns-rancher"), "watch"],
                cwd=site, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            applied: list[float] = []
            tail: list[str] = []

            def read() -> None:
                assert proc.stderr is not None
                for line in proc.stderr:
                    tail.append(line)
                    del tail[:-40]
                    if APPLIED.search(line):
                        applied.append(time.perf_counter())

            threading.Thread(target=read, daemon=True).start()
            steps = []
            mark = getattr(proxy, "mark", time.perf_counter)
            try:
                t = mark()
                wait(lambda: applied, 600, "the start cycle", proc, tail)
                start_cycle = {"wall_s": round(applied[0] - t, 2), "calls": ops(proxy.since(t))}
                for step in range(args.changes):
                    time.sleep(0.5)  # back in the long-poll
                    name = move_one(tree, step, args.values)
                    seen = len(applied)
                    version = meta.prepare()
                    cpu0 = cpu_seconds(proc.pid)
                    t0 = mark()
                    meta.show(version)
                    wait(lambda: len(applied) > seen, args.quiet + 300, name, proc, tail)  # noqa: B023
                    time.sleep(0.1)
                    cpu = cpu_seconds(proc.pid) - cpu0
                    calls = proxy.since(t0)
                    change = next((c for c in calls if c.is_change), None)
                    steps.append(
                        {
                            "service": name,
                            "to_change_request_s": round(change.started - t0, 3)
                            if change
                            else None,
                            # BIND: no proxy; the watch's log line of the applied sync.
                            "to_applied_s": round(change.finished - t0, 3)
                            if change
                            else round(applied[seen] - t0, 3),
                            "cpu_s": round(cpu, 3),
                            "calls": ops(calls),
                        }
                    )
                    print(json.dumps(steps[-1]), flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return summary(args, initial, start_cycle, steps)


def ops(calls: list[Any]) -> dict[str, int]:
    return dict(Counter(c.operation for c in calls))


def wait(
    cond: Any, timeout: float, what: str, proc: subprocess.Popen[str], tail: list[str]
) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise SystemExit(f"watch exited {proc.returncode}:\n{''.join(tail)}")
        time.sleep(0.01)
    raise SystemExit(f"no sync for {what} within {timeout} s:\n{''.join(tail)}")


def summary(
    args: argparse.Namespace, initial: float, start: dict[str, Any], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    def stats(key: str) -> dict[str, float] | None:
        vals = [s[key] for s in steps if s[key] is not None]
        if not vals:
            return None
        return {
            "median": round(statistics.median(vals), 3),
            "min": round(min(vals), 3),
            "max": round(max(vals), 3),
        }

    return {
        "provider": args.provider,
        "records": args.records,
        "values": args.values,
        "containers_per_service": args.per_service or args.values,
        "version": str(args.before) if args.before else "current",
        "quiet_period_s": args.quiet,
        "changes": len(steps),
        "initial_octodns_sync_s": round(initial, 2),
        "start_cycle": start,
        "to_change_request_s": stats("to_change_request_s"),
        "to_applied_s": stats("to_applied_s"),
        "cpu_per_cycle_s": stats("cpu_s"),
        "calls_per_cycle": [sum(s["calls"].values()) for s in steps],
        "calls_by_operation": steps[-1]["calls"] if steps else {},
        "load_average": os.getloadavg(),
    }


def main(args: argparse.Namespace) -> int:
    result = run(args)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = (
        out_dir
        / f"watch-apply-{args.provider}-{args.records}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    )
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"saved {out}")
    return 0
