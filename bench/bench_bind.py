"""Update messages and wall time of ``octodns-sync`` with the shipped RFC 2136 config, against named.

Three syncs of a zone generated from synthetic metadata (``bench/synth.py``) into a real BIND 9
(``tests/support/bind.py``, 127.0.0.1 only): the initial sync of N records into an empty zone, a
sync with nothing to do, and a sync after 10 % of the services moved host. octoDNS's ``Manager``
runs in this process with the config ``octodns-rancher init --provider rfc2136`` writes
(``octodns_rancher.rfc2136.Rfc2136Provider`` and the ownership processor). named's own counters
(its statistics channel) count what it received: update messages applied (``UpdateDone``) and
refused, zone transfers served, requests over TCP. Beside the wall time, the CPU seconds of this
process and of named, which a machine shared with other work does not inflate.

Two other ways of sending the initial sync are measured on a fresh named each:

- octodns-bind's provider as shipped (1000 changes per message, whatever their size): it either
  works or dnspython refuses a message over 65,535 bytes, reported as such;
- Rancher's external DNS RFC 2136 provider: one update message per record set, here with
  dnspython and the same key, timed on a sample (``--per-record-sample``) and scaled.

    .venv/bin/python bench/bench_bind.py                      # 10,000 records of 10 values
    .venv/bin/python bench/bench_bind.py --values 1            # 10,000 single-value records

Run by hand, never in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
from bench.bench_route53 import ENVIRONMENT, ZONE, changed_between, snapshot  # noqa: E402
from bench.bench_route53 import _entries as entries  # noqa: E402
from octodns.manager import Manager  # noqa: E402
from tests.support.bind import KEY, Bind  # noqa: E402

from octodns_rancher.config import render_octodns_config  # noqa: E402
from octodns_rancher.pipeline import Options, generate  # noqa: E402

SHIPPED = "octodns_rancher.rfc2136.Rfc2136Provider"
UPSTREAM = "octodns_bind.Rfc2136Provider"


@dataclass
class Phase:
    approach: str
    phase: str
    records: int  # zone file records created or changed
    values: int
    seconds: float
    updates: int = 0  # update messages named applied
    refused: int = 0
    transfers: int = 0
    tcp_requests: int = 0
    scaled_from: int = 0
    result: str = "applied"
    cpu: float = 0.0  # this process's CPU seconds (octoDNS, dnspython)
    named_cpu: float = 0.0  # named's CPU seconds


def named_cpu(bind: Bind) -> float:
    """named's user and system CPU seconds so far, from /proc."""
    assert bind.proc is not None
    fields = Path(f"/proc/{bind.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counters(bind: Bind) -> dict[str, int]:
    c = bind.counters()
    return {
        "updates": c.get("UpdateDone", 0),
        "refused": c.get("UpdateRej", 0) + c.get("UpdateFail", 0),
        "transfers": c.get("XfrReqDone", 0),
        "tcp_requests": c.get("ReqTCP", 0),
    }


def sync(config: Path, bind: Bind, approach: str, phase: str, changed: tuple[int, int]) -> Phase:
    before, cpu, ncpu = counters(bind), time.process_time(), named_cpu(bind)
    start = time.perf_counter()
    result = "applied"
    try:
        Manager(str(config)).sync(
            eligible_zones=[f"{ZONE}."], dry_run=False, plan_output_fh=io.StringIO()
        )
    except Exception as e:  # reported in the table: the point of measuring upstream
        result = f"failed: {type(e).__name__}: {e}"[:120]
    seconds = time.perf_counter() - start
    after = counters(bind)
    delta = {k: after[k] - before[k] for k in after}
    p = Phase(approach, phase, changed[0], changed[1], seconds, result=result, **delta)
    p.cpu, p.named_cpu = time.process_time() - cpu, named_cpu(bind) - ncpu
    return p


def per_record(bind: Bind, text: str, sample: int, total: tuple[int, int]) -> Phase:
    """One update message per record set, as Rancher's RFC 2136 provider sent them."""
    records = entries(text)
    names = sorted(records)[:sample]
    before, cpu, ncpu = counters(bind), time.process_time(), named_cpu(bind)
    start = time.perf_counter()
    for name in names:
        entry = records[name]
        update = bind.update(KEY)
        values = entry.get("values") or [entry.get("value")]
        update.add(f"{name}.{ZONE}.", entry["ttl"], entry["type"], *map(str, values))
        answer = dns.query.tcp(update, "127.0.0.1", port=bind.port, timeout=30)
        if answer.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"{name}: {dns.rcode.to_text(answer.rcode())}")
    seconds = time.perf_counter() - start
    after = counters(bind)
    factor = total[0] / max(len(names), 1)
    p = Phase("per record set (Rancher's provider)", "initial sync", *total, seconds * factor)
    p.updates = round((after["updates"] - before["updates"]) * factor)
    p.tcp_requests = round((after["tcp_requests"] - before["tcp_requests"]) * factor)
    p.scaled_from = len(names)
    p.cpu = (time.process_time() - cpu) * factor
    p.named_cpu = (named_cpu(bind) - ncpu) * factor
    return p


def configure(tmp: Path, bind: Bind, ownership: str, provider_class: str = SHIPPED) -> Path:
    config = tmp / f"octodns-{provider_class.split('.')[0]}.yaml"
    text = render_octodns_config(
        ZONE, ENVIRONMENT, provider="rfc2136", zones_dir=str(tmp / "zones"), ownership=ownership
    )
    if provider_class != SHIPPED:
        text = text.replace(SHIPPED, provider_class).replace("    max_message_bytes: 65535\n", "")
    config.write_text(text)
    os.environ.update(bind.env)
    return config


def run(records: int, spread: int, sample: int, ownership: str) -> list[Phase]:
    logging.getLogger().setLevel(logging.WARNING)
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="bench-bind-") as tmp_name:
        tmp = Path(tmp_name)
        zones = tmp / "zones"
        opts = Options(zone=ZONE, environment=ENVIRONMENT, zones_dir=zones, force=True)
        base, moved = snapshot(records, spread, 0), snapshot(records, spread, 1)
        generate(opts, snapshot=base)
        old_text = (zones / f"{ZONE}.yaml").read_text()
        first = changed_between(None, old_text)
        with Bind(ZONE, startup_timeout=60) as bind:
            config = configure(tmp, bind, ownership)
            phases.append(sync(config, bind, "octoDNS, filled messages", "initial sync", first))
            phases.append(sync(config, bind, "octoDNS, filled messages", "no change", (0, 0)))
            generate(opts, snapshot=moved)
            changed = changed_between(old_text, (zones / f"{ZONE}.yaml").read_text())
            phases.append(sync(config, bind, "octoDNS, filled messages", "10 % changed", changed))
        generate(opts, snapshot=base)
        with Bind(ZONE, startup_timeout=60) as bind:
            config = configure(tmp, bind, ownership, UPSTREAM)
            phases.append(sync(config, bind, "octodns-bind as shipped", "initial sync", first))
        with Bind(ZONE, startup_timeout=60) as bind:
            phases.append(per_record(bind, old_text, sample, first))
    return phases


def table(phases: list[Phase]) -> str:
    lines = [
        "| approach | sync | records (values) changed | update messages | refused "
        "| zone transfers | TCP requests | wall time | CPU: octoDNS | CPU: named | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        measured = f"{p.seconds:.1f} s"
        if p.scaled_from and p.scaled_from != p.records:
            measured += f" (scaled from {p.scaled_from:,})"
        lines.append(
            f"| {p.approach} | {p.phase} | {p.records:,} ({p.values:,}) | {p.updates:,} | "
            f"{p.refused} | {p.transfers} | {p.tcp_requests:,} | {measured} | {p.cpu:.1f} s | "
            f"{p.named_cpu:.1f} s | {p.result} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="record sets (10,000)")
    parser.add_argument(
        "--values", type=int, default=10, help="addresses per record: hosts per service (10)"
    )
    parser.add_argument("--per-record-sample", type=int, default=1_000)
    parser.add_argument(
        "--ownership",
        choices=("record", "subtree"),
        default="record",
        help="the config's ownership model, as `init --ownership` (record)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    phases = run(args.records, args.values, args.per_record_sample, args.ownership)
    sys.stdout.write(table(phases) + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(p) for p in phases], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
