"""Time ``generate --source kubernetes`` at 10,000 Services + 10,000 Ingresses, and ``watch``.

The cluster is the tests' Kubernetes API server (``tests/support/kube_apiserver.py``) on
127.0.0.1, in this process; the generator is the real CLI in a child process, its peak RSS
measured by GNU ``time`` (``%M``). Three cases, as in ``bench_generate.py``: the first run (no
zone file), a run that finds nothing new, and a run after 10 % of the Services got a new
address; each case ``--repeat`` times (median and range). Each is timed reading the API server
(chunked lists of 500, like kubectl), and reading a snapshot file of the same lists
(``--kubernetes-file``).

``--watch N``: ``watch --source kubernetes`` in a git checkout, N changes one after another;
for each, the time from the change on the API server to the commit, minus the quiet period.

    .venv/bin/python bench/bench_kubernetes.py
    .venv/bin/python bench/bench_kubernetes.py --repeat 5 --watch 20

Run by hand, never in CI; its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

from tests.support.kube_apiserver import KubeApiServer  # noqa: E402

BIN = Path(sys.executable).parent
CLI = BIN / "octodns-rancher"
TIME = shutil.which("time", path="/usr/bin:/bin")
ZONE = "example.com"
CLUSTER = "c1"
H = "external-dns.alpha.kubernetes.io/hostname"


def address(i: int, generation: int = 0) -> str:
    n = i + generation * 7919
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"


def populate(srv: KubeApiServer, services: int, ingresses: int) -> None:
    for i in range(services):
        ns = f"team{i % 50}"
        if i % 10 == 9:  # one in ten behind a host name (a cloud load balancer): a CNAME
            srv.add_service(
                ns,
                f"svc{i}",
                hostnames=(f"lb{i}.elb.example.net",),
                annotations={H: f"svc{i}.{ns}.{CLUSTER}.{ZONE}"},
            )
        else:
            srv.add_service(
                ns, f"svc{i}", ips=(address(i),), annotations={H: f"svc{i}.{ns}.{CLUSTER}.{ZONE}"}
            )
    for i in range(ingresses):
        ns = f"team{i % 50}"
        srv.add_ingress(
            ns, f"ing{i}", hosts=(f"www{i}.{ns}.{CLUSTER}.{ZONE}",), ips=(address(i + 1_000_000),)
        )


def move_tenth(srv: KubeApiServer, services: int, generation: int = 1) -> None:
    for i in range(0, services, 10):
        ns = f"team{i % 50}"
        srv.update(
            "services",
            ns,
            f"svc{i}",
            lambda o, i=i: o["status"]["loadBalancer"]["ingress"][0].update(
                ip=address(i, generation)
            ),
        )


def run_cli(args: list[str], zones: Path) -> dict:
    path = zones / f"{ZONE}.yaml"
    before = path.read_bytes() if path.exists() else None
    cmd = [
        str(CLI),
        "generate",
        "--zone",
        ZONE,
        "--zones-dir",
        str(zones),
        "--source",
        "kubernetes",
        "--cluster",
        CLUSTER,
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    with tempfile.NamedTemporaryFile("r") as rss:
        timed = [TIME, "-f", "%M %U %S", "-o", rss.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.run(
            timed, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
        )
        seconds = time.perf_counter() - start
        fields = rss.read().split()[-3:] if TIME else ["0", "0", "0"]
        peak_kb, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    if proc.returncode != 0:
        raise SystemExit(f"generate failed:\n{proc.stderr[-3000:]}")
    after = path.read_bytes()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "written": before != after,
        "records": sum(
            1 for line in after.decode().splitlines() if line.startswith(("  type: ", "- octodns:"))
        ),
    }


def summarize(case: str, source: str, rows: list[dict]) -> dict:
    """One case's runs: the median and the range of each figure, and what every run wrote."""
    out: dict = {"source": source, "case": case, "runs": len(rows)}
    for key in ("seconds", "cpu_seconds", "peak_rss_mb"):
        values = [r[key] for r in rows]
        out[key] = round(statistics.median(values), 3)
        out[f"{key}_range"] = [min(values), max(values)]
    out["written"] = sorted({r["written"] for r in rows})
    out["records"] = sorted({r["records"] for r in rows})
    return out


def bench_generate(services: int, ingresses: int, repeat: int) -> list[dict]:
    out = []
    with KubeApiServer() as srv, tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
        t = time.perf_counter()
        populate(srv, services, ingresses)
        print(
            f"# {services} Services + {ingresses} Ingresses created in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(json.dumps(srv.kubeconfig()))
        snap = Path(tmp) / "snap.json"
        api = ["--kubeconfig", str(kubeconfig)]
        generation = 0

        def first(zones: Path) -> None:
            shutil.rmtree(zones, ignore_errors=True)

        def moved(zones: Path) -> None:
            nonlocal generation
            generation += 1
            move_tenth(srv, services, generation)

        def unchanged(zones: Path) -> None:
            pass

        def cases(source: str, args: list[str], zones: Path, plan: list) -> None:
            for case, before, extra in plan:
                rows = []
                for _ in range(repeat):
                    before(zones)
                    rows.append(run_cli([*args, *extra], zones))
                out.append(summarize(case, source, rows))
                print(json.dumps(out[-1]), file=sys.stderr)

        cases(
            "API server",
            api,
            Path(tmp) / "api",
            [
                ("first run", first, []),
                ("no change", unchanged, []),
                ("10 % of Services moved", moved, ["--force"]),
            ],
        )
        # The same lists from a snapshot file (no HTTP): what the rules and writers cost alone.
        subprocess.run(
            [str(CLI), "-q", "snapshot", "--source", "kubernetes", *api, "-o", str(snap)],
            check=True,
        )
        cases(
            "snapshot file",
            ["--kubernetes-file", str(snap)],
            Path(tmp) / "file",
            [("first run", first, []), ("no change", unchanged, [])],
        )
    return out


def bench_watch(changes: int, quiet: float, services: int, ingresses: int) -> dict:
    latencies = []
    with (
        KubeApiServer(bookmark_interval=5) as srv,
        tempfile.TemporaryDirectory(prefix="bench-k8s-watch-") as tmp,
    ):
        populate(srv, services, ingresses)
        work = Path(tmp) / "work"
        work.mkdir()
        for args in (
            ["init", "-q", "-b", "main"],
            ["config", "user.name", "b"],
            ["config", "user.email", "b@example.invalid"],
        ):
            subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
        (work / "README").write_text("zones\n")
        subprocess.run(["git", "add", "README"], cwd=work, check=True)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=work, check=True)
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(json.dumps(srv.kubeconfig()))
        env = dict(
            os.environ, ROOT_DOMAIN=ZONE, QUIET_PERIOD=str(quiet), LISTEN_ADDRESS="127.0.0.1:0"
        )
        cmd = [
            str(CLI),
            "-q",
            "watch",
            "--source",
            "kubernetes",
            "--cluster",
            CLUSTER,
            "--kubeconfig",
            str(kubeconfig),
        ]
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        ref = work / ".git" / "refs" / "heads" / "main"
        try:
            first = ref.read_text()
            wait_change(ref, first, 120)
            for g in range(1, changes + 1):
                time.sleep(0.2)
                before = ref.read_text()
                t0 = time.perf_counter()
                srv.update(
                    "services",
                    "team1",
                    "svc1",
                    lambda o, g=g: o["status"]["loadBalancer"]["ingress"][0].update(
                        ip=address(1, g + 1)
                    ),
                )
                latencies.append(wait_change(ref, before, quiet + 30) - t0)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise SystemExit(f"watch exited {proc.returncode}:\n{err[-3000:]}")
    beyond = sorted(lat - quiet for lat in latencies)
    return {
        "changes": changes,
        "quiet_period_s": quiet,
        "objects": services + ingresses,
        "beyond_quiet_s": {
            "p50": round(statistics.median(beyond), 3),
            "p95": round(beyond[int(0.95 * (len(beyond) - 1))], 3),
            "max": round(beyond[-1], 3),
        },
    }


def wait_change(ref: Path, before: str, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if ref.read_text() != before:
            return time.perf_counter()
        time.sleep(0.002)
    raise TimeoutError(f"no commit within {timeout} s")


def cpu_model() -> str:
    """The processor's name, as /proc/cpuinfo gives it: figures differ between machines."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--services", type=int, default=10_000)
    p.add_argument("--ingresses", type=int, default=10_000)
    p.add_argument("--watch", type=int, default=10, help="watch changes to time (0: none)")
    p.add_argument("--quiet", type=float, default=2.0, help="watch quiet period (2)")
    p.add_argument("--skip-generate", action="store_true")
    p.add_argument("--repeat", type=int, default=3, help="runs of each generate case (3)")
    args = p.parse_args(argv)
    result: dict = {"cpus": os.cpu_count(), "cpu": cpu_model(), "load": os.getloadavg()}
    if not args.skip_generate:
        result["generate"] = bench_generate(args.services, args.ingresses, max(1, args.repeat))
    if args.watch:
        result["watch"] = bench_watch(args.watch, args.quiet, args.services, args.ingresses)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
