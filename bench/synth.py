"""Synthetic rancher-metadata at benchmark scale: 10 containers per service, 100 to 2,000 hosts.

The objects have every field the captured server sends for hosts, services and containers
(``tests/fixtures/fixture_shop``), so the JSON is as large as a real environment's would be. They
come from the same builders the tests use (``tests/support/scenario.py``), completed with the
fields those leave out. Every service publishes a port, so each one makes one A record with one
address per container; a scale of N containers gives N/10 records.

    .venv/bin/python bench/synth.py 100000 -o /tmp/snap-100k.json   # a snapshot file
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import scenario  # noqa: E402

ENVIRONMENT = "Production"
PER_SERVICE = 10
SERVICES_PER_STACK = 20
# Hosts grow with the environment, from 100 (1k containers) to 2,000 (100k containers).
HOSTS = {1_000: 100, 10_000: 500, 100_000: 2_000}


def host_count(containers: int) -> int:
    """The host count for a scale: the table above, else 2 % of the containers in [100, 2000]."""
    return HOSTS.get(containers, min(2_000, max(100, containers // 50)))


def hosts(count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        h = scenario.host(f"host-{i:04d}", f"172.{16 + i // 65536}.{i // 256 % 256}.{i % 256}")
        h.update(
            hostname=f"host-{i:04d}.internal",
            hostId=i + 1,
            memory=8_254_218_240,
            milli_cpu=2_000,
            local_storage_mb=51_200,
        )
        out.append(h)
    return out


def service_name(index: int) -> tuple[str, str]:
    """(stack, service) of the index-th service."""
    return f"stack-{index // SERVICES_PER_STACK:04d}", f"svc-{index:05d}"


def services(
    count: int,
    host_list: list[dict[str, Any]],
    generation: int = 0,
    spread: int = PER_SERVICE,
    per_service: int = PER_SERVICE,
) -> list[dict[str, Any]]:
    """``count`` services of PER_SERVICE running, healthy containers on ``spread`` hosts.

    With the default spread every container runs on its own host and a record has 10 values;
    with 1 they all run on one host, one value. ``generation`` shifts the hosts of one service
    in ten per step, so the environment at generation 1 changes 10 % of the records.
    """
    n_hosts = len(host_list)
    out = []
    for s in range(count):
        stack, name = service_name(s)
        shift = generation if s % 10 == 0 else 0
        containers = []
        for j in range(per_service):
            h = host_list[(s * spread + j % spread + shift) % n_hosts]
            c = scenario.container(stack, name, j + 1, h["name"], ports=["0.0.0.0:8080:8080/tcp"])
            c.update(
                dns=["169.254.169.250"],
                external_id=f"{s:08x}{j:04x}" * 4,
                ips=[c["primary_ip"]],
                links=None,
                service_uuid=scenario.uid("service", stack, name),
                stack_uuid=scenario.uid("stack", stack),
                start_count=1,
                system=False,
            )
            containers.append(c)
        svc = scenario.service(stack, name, containers)
        svc.update(
            create_index=None,
            expose=None,
            external_ips=None,
            fqdn=None,
            health_check=None,
            hostname=None,
            links=None,
            metadata={},
            ports=["8080:8080/tcp"],
            primary_service_name=name,
            scale=per_service,
            sidekicks=None,
            system=False,
            token="",
            vip="",
        )
        out.append(svc)
    return out


def tree(
    containers: int, generation: int = 0, spread: int = PER_SERVICE, per_service: int = PER_SERVICE
) -> dict[str, Any]:
    """A version tree for ``MetadataServer`` with ``containers`` containers, ``per_service``
    to a service."""
    host_list = hosts(host_count(containers))
    svc = services(containers // per_service, host_list, generation, spread, per_service)
    return scenario.tree(svc, host_list, ENVIRONMENT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("containers", type=int, help="number of containers (1000, 10000, 100000)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="snapshot file to write")
    parser.add_argument("--generation", type=int, default=0, help="shift 10 %% of the services")
    args = parser.parse_args(argv)
    t = tree(args.containers, args.generation)
    snap = scenario.snapshot(t["services"], t["hosts"], ENVIRONMENT)
    args.output.write_text(json.dumps(snap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
