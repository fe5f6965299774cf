"""What reading Rancher's state record costs the ownership processors on the first sync.

A zone as Rancher's external DNS service left it: N A records below ``<environment>.<zone>``,
all listed in its state record ``external-dns-<uuid>`` (N values), plus 1 % made by hand; the
services move 10 % of them to another host and 1 % are gone. For each ownership model, the
processor steps octoDNS runs for a sync (``process_source_zone``, then
``process_source_and_target_zones``, octoDNS's own ``Zone.changes``, then ``process_plan``) are
timed on octoDNS's in-memory zones, once with the state record configured and once without
(and ``allow_takeover``, the only way through before). Building the zones, which a provider
does for any sync, is not measured. Wall time is the best of ``--repeat`` runs; memory is the
peak of Python allocations (tracemalloc) in one more run.

    .venv/bin/python bench/bench_migration.py                       # 10,000 and 50,000 records
    .venv/bin/python bench/bench_migration.py --records 2000 --repeat 1

Run by hand, never in CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from octodns.provider.plan import Plan  # noqa: E402
from octodns.provider.yaml import YamlProvider  # noqa: E402
from octodns.record import Record  # noqa: E402
from octodns.zone import Zone  # noqa: E402

from octodns_rancher.processors import RancherOwnership, SubtreeOwnership  # noqa: E402

ZONE = "example.com."
UUID = "1a2b3c4d-0000-4000-8000-00000000beef"
OWNER = "octodns-rancher:production"


def zones(records: int) -> tuple[dict, dict]:
    """(desired, existing) as record data: what the services want, what Rancher left."""
    have: dict = {}
    want: dict = {}
    listed = []
    for i in range(records):
        name = f"s{i}.stack{i % 50}.production"
        ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        have[name] = {"type": "A", "ttl": 300, "value": ip}
        listed.append(f"{name}.example.com.")
        if i % 100 != 1:  # 1 % of the services are gone
            moved = f"10.200.{i // 256 % 256}.{i % 256}" if i % 10 == 0 else ip
            want[name] = {"type": "A", "ttl": 300, "value": moved}
    for i in range(records // 100):
        have[f"manual{i}.hand.production"] = {"type": "A", "ttl": 120, "value": "192.0.2.9"}
    have[f"external-dns-{UUID}"] = {"type": "TXT", "ttl": 300, "values": sorted(listed)}
    return want, have


def build(data: dict) -> Zone:
    zone = Zone(ZONE, [])
    for name, rec in data.items():
        zone.add_record(Record.new(zone, name, rec, lenient=True), lenient=True)
    return zone


def sync_steps(proc, want: dict, have: dict, target) -> tuple[float, int]:
    """Seconds of the processor steps and octoDNS's diff; the number of changes kept."""
    desired, existing = build(want), build(have)
    start = time.perf_counter()
    desired = proc.process_source_zone(desired, sources=[])
    desired, existing = proc.process_source_and_target_zones(desired, existing, target)
    changes = existing.changes(desired, target)
    plan = proc.process_plan(Plan(existing, desired, changes, True), sources=[], target=target)
    return time.perf_counter() - start, len(plan.changes) if plan else 0


def processor(model: str, state: bool):
    kw = {"rancher_state": f"external-dns-{UUID}"} if state else {"allow_takeover": True}
    if model == "record":
        return RancherOwnership("ownership", txt_value=OWNER, txt_ttl=300, **kw)
    return SubtreeOwnership("ownership", marker="_owner.production", txt_value=OWNER, **kw)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    target = YamlProvider("t", ".", default_ttl=300, enforce_order=False, escaped_semicolons=False)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(
        f"{'records':>8} {'model':8} {'state record':13} {'changes':>8} {'best s':>7} {'peak MiB':>9}"
    )
    for records in args.records:
        want, have = zones(records)
        for model in ("record", "subtree"):
            for state in (False, True):
                runs = [sync_steps(processor(model, state), want, have, target)]
                runs += [
                    sync_steps(processor(model, state), want, have, target)
                    for _ in range(args.repeat - 1)
                ]
                tracemalloc.start()
                sync_steps(processor(model, state), want, have, target)
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                best = min(r[0] for r in runs)
                label = "read" if state else "no (takeover)"
                print(f"{records:>8} {model:8} {label:13} {runs[0][1]:>8} {best:7.2f} {peak:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
