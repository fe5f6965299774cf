"""Route53 API calls and wall time of ``octodns-sync`` with the shipped config, against moto.

Three syncs of a zone generated from synthetic metadata (``bench/synth.py``): the initial sync of
N records into an empty hosted zone, a sync with nothing to do, and a sync after 10 % of the
services moved host. octoDNS's ``Manager`` runs in this process with the config that
``octodns-rancher init`` writes (its Route53 provider and ownership processor included); every
request is counted by operation at the moto server (``tests/support/moto_server.py``), which
runs on 127.0.0.1 only.

In the same run, the per-record approach of Rancher's external DNS service is measured against
a fresh zone: one ``ChangeResourceRecordSets`` per record (CREATE, then UPSERT for the changed
ones). It is timed on a sample (``--per-record-sample``) and scaled, since its request count is
one per record by construction. The time each approach needs at Route53's 5 requests/s is
reported beside the measured time.

    .venv/bin/python bench/bench_route53.py                     # 10,000 records of 10 values
    .venv/bin/python bench/bench_route53.py --values 1           # 10,000 single-value records

Run by hand, never in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from bench import synth  # noqa: E402
from octodns.manager import Manager  # noqa: E402
from tests.support.moto_server import MotoServer, counted  # noqa: E402

from octodns_rancher.config import render_octodns_config  # noqa: E402
from octodns_rancher.pipeline import Options, generate  # noqa: E402
from octodns_rancher.source import Snapshot  # noqa: E402

ZONE = "example.com"
ENVIRONMENT = synth.ENVIRONMENT
RATE = 5.0  # Route53's documented limit: five requests per second per account
CHANGE = "route53:ChangeResourceRecordSets"


@dataclass
class Phase:
    approach: str
    phase: str
    records: int  # record sets changed (created or updated) in this phase
    values: int  # their ResourceRecord values
    seconds: float
    operations: dict[str, int] = field(default_factory=dict)
    scaled_from: int = 0  # per-record: the sample size the time was measured on
    sent_changes: int = 0  # record set changes in the change requests, ownership TXT included
    sent_values: int = 0
    largest_request: int = 0  # the most values one change request held, as Route53 counts them

    @property
    def calls(self) -> int:
        return sum(self.operations.values())

    @property
    def change_calls(self) -> int:
        return self.operations.get(CHANGE, 0)


def snapshot(records: int, spread: int, generation: int) -> Snapshot:
    tree = synth.tree(records * synth.PER_SERVICE, generation=generation, spread=spread)
    return Snapshot(
        api_version="2016-07-29",
        services=tree["services"],
        hosts=tree["hosts"],
        self_stack=tree["self"]["stack"],
        origin="synthetic",
    )


def sync(
    config: Path, moto: MotoServer, approach: str, phase: str, changed: tuple[int, int]
) -> Phase:
    moto.clear_requests()
    start = time.perf_counter()
    Manager(str(config)).sync(
        eligible_zones=[f"{ZONE}."], dry_run=False, plan_output_fh=io.StringIO()
    )
    seconds = time.perf_counter() - start
    ops = Counter(moto.operations())
    p = Phase(approach, phase, changed[0], changed[1], seconds, dict(ops))
    p.sent_changes, p.sent_values, p.largest_request = sent(moto)
    return p


def sent(moto: MotoServer) -> tuple[int, int, int]:
    """(record set changes, ResourceRecord values, the largest request's counted values) of the
    change requests moto received.

    More than the zone file's records: the ownership processor adds TXT records (one per name,
    or one per environment with subtree ownership). Route53 counts an UPSERT's values twice.
    """
    changes = values = largest = 0
    for r in moto.change_requests():
        body = r["body"] or ""
        changes += body.count("<Change>")
        values += body.count("<ResourceRecord>")
        largest = max(largest, counted(body)[0])
    return changes, values, largest


def changed_between(old_text: str | None, new_text: str) -> tuple[int, int]:
    """(records, values) of the new zone text that differ from the old one."""
    old = _entries(old_text) if old_text else {}
    new = _entries(new_text)
    changed = [k for k, v in new.items() if old.get(k) != v]
    return len(changed), sum(_values(new[k]) for k in changed)


def _entries(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _values(entry: dict[str, Any]) -> int:
    return len(entry.get("values") or [entry.get("value")])


def per_record(moto: MotoServer, old_text: str, new_text: str, sample: int) -> list[Phase]:
    """One ChangeResourceRecordSets per record, for ``sample`` records, on a fresh zone."""
    client = moto.client()
    zone_id = client.create_hosted_zone(Name=f"per-record.{ZONE}.", CallerReference="bench")[
        "HostedZone"
    ]["Id"]
    old, new = _entries(old_text), _entries(new_text)
    names = sorted(old)[:sample]
    phases = []
    for label, action, source, picked in (
        ("initial sync", "CREATE", old, names),
        ("10 % changed", "UPSERT", new, [n for n in names if new.get(n) != old.get(n)]),
    ):
        moto.clear_requests()
        start = time.perf_counter()
        for name in picked:
            entry = source[name]
            rrs = {
                "Name": f"{name}.per-record.{ZONE}.",
                "Type": entry["type"],
                "TTL": entry["ttl"],
                "ResourceRecords": [
                    {"Value": v} for v in entry.get("values") or [entry.get("value")]
                ],
            }
            client.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrs}]},
            )
        seconds = time.perf_counter() - start
        ops = dict(Counter(moto.operations()))
        values = sum(_values(source[n]) for n in picked)
        p = Phase("per record", label, len(picked), values, seconds, ops, len(picked))
        p.sent_changes, p.sent_values = len(picked), values
        phases.append(p)
    return phases


def scale(p: Phase, full_records: int, full_values: int) -> Phase:
    """A per-record phase measured on a sample, scaled to the full number of records."""
    if not p.records:
        return p
    factor = full_records / p.records
    ops = {k: round(v * factor) for k, v in p.operations.items()}
    out = Phase(p.approach, p.phase, full_records, full_values, p.seconds * factor, ops, p.records)
    out.sent_changes, out.sent_values = full_records, full_values
    return out


def run(records: int, spread: int, sample: int, ownership: str = "record") -> list[Phase]:
    logging.getLogger().setLevel(logging.WARNING)
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="bench-route53-") as tmp, MotoServer() as moto:
        os.environ.update(moto.env)
        zones = Path(tmp) / "zones"
        config = Path(tmp) / "octodns.yaml"
        config.write_text(
            render_octodns_config(
                ZONE, ENVIRONMENT, provider="route53", zones_dir=str(zones), ownership=ownership
            )
        )
        moto.create_zone(ZONE)
        opts = Options(zone=ZONE, environment=ENVIRONMENT, zones_dir=zones, force=True)
        base, moved = snapshot(records, spread, 0), snapshot(records, spread, 1)
        generate(opts, snapshot=base)
        old_text = (zones / f"{ZONE}.yaml").read_text()
        first = changed_between(None, old_text)
        phases.append(sync(config, moto, "octoDNS, batched", "initial sync", first))
        generate(opts, snapshot=base)
        phases.append(sync(config, moto, "octoDNS, batched", "no change", (0, 0)))
        generate(opts, snapshot=moved)
        new_text = (zones / f"{ZONE}.yaml").read_text()
        changed = changed_between(old_text, new_text)
        phases.append(sync(config, moto, "octoDNS, batched", "10 % changed", changed))
        held = len(moto.record_sets(moto.client().list_hosted_zones()["HostedZones"][0]["Id"]))
        logging.getLogger(__name__).warning("hosted zone holds %d record sets", held)
        sampled = per_record(moto, old_text, new_text, sample)
        phases.append(scale(sampled[0], *first))
        phases.append(scale(sampled[1], *changed))
    return phases


def table(phases: list[Phase]) -> str:
    lines = [
        "| approach | sync | zone file records (values) changed | changes (values) sent "
        "| API calls | of which changes | largest request (counted values) "
        "| calls by operation | wall time on moto | at 5 requests/s |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for p in phases:
        ops = ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(p.operations.items()))
        measured = f"{p.seconds:.1f} s"
        if p.scaled_from and p.scaled_from != p.records:
            measured += f" (scaled from {p.scaled_from:,})"
        lines.append(
            f"| {p.approach} | {p.phase} | {p.records:,} ({p.values:,}) | "
            f"{p.sent_changes:,} ({p.sent_values:,}) | {p.calls:,} | "
            f"{p.change_calls:,} | {p.largest_request or '-'} | {ops or '-'} | {measured} | "
            f"{p.calls / RATE:,.1f} s |"
        )
    return "\n".join(lines)


def ratios(phases: list[Phase]) -> str:
    ours = {p.phase: p for p in phases if p.approach != "per record"}
    lines = []
    for p in phases:
        if p.approach == "per record" and p.phase in ours:
            o = ours[p.phase]
            # Route53 takes 1,000 values per request; an UPSERT's count twice.
            weight = 1 if p.phase == "initial sync" else 2
            bound = math.ceil(weight * o.sent_values / 1000)
            lines.append(
                f"- {p.phase}: {p.change_calls:,} change calls per record vs {o.change_calls:,} "
                f"batched ({p.change_calls / max(o.change_calls, 1):.0f}x fewer); all calls "
                f"{p.calls:,} vs {o.calls:,} ({p.calls / max(o.calls, 1):.0f}x); "
                f"at 5 requests/s {p.calls / RATE:,.0f} s vs {o.calls / RATE:,.0f} s; "
                f"Route53's floor for the {o.sent_values:,} values sent: {bound} change call(s)"
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
    sys.stdout.write(table(phases) + "\n\n" + ratios(phases) + "\n")
    if args.json:
        rows = [asdict(p) | {"calls": p.calls, "change_calls": p.change_calls} for p in phases]
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
