"""End-to-end fixtures: PowerDNS, BIND 9 (``named``, written by RFC 2136 dynamic updates) and a
moto Route53 server (one each per session), a rancher-metadata server per test, and ``Site``: one
operator's checkout driven through the real commands.

Every test goes metadata over HTTP → ``octodns-rancher generate`` → ``octodns-sync`` → the
provider, and reads the result back from the provider: DNS answers from PowerDNS's and named's
ports, ``list_resource_record_sets`` from moto. Every provider starts with the same zone holding
records that are not ours (``OUTSIDE``), which no sync may ever change.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from octodns_rancher.config import render_octodns_config
from tests.conftest import run
from tests.support import scenario
from tests.support.bind import Bind
from tests.support.metadata_server import MetadataServer
from tests.support.moto_server import MotoServer
from tests.support.pdns import Answer, PowerDns

ZONE = "example.com"
# Records of the zone that are not ours: the apex's neighbours, a hand-made name Rancher's own
# service used to delete, and another environment's record.
OUTSIDE: dict[tuple[str, str], Answer] = {
    ("test-default", "A"): Answer(600, ["192.0.2.50"]),
    ("www", "CNAME"): Answer(300, ["web.shop.production.example.com."]),
    ("x.otherenv", "A"): Answer(300, ["192.0.2.51"]),
    ("_owner.a.x.otherenv", "TXT"): Answer(300, ['"octodns-rancher:otherenv"']),
}
HOSTS = {f"h{i}": f"198.51.100.{10 + i}" for i in range(8)}


class Target:
    """A DNS provider under test, read and edited by hand the way an operator would."""

    name: str
    env: dict[str, str]

    def reset(self) -> None:
        """A fresh zone holding only ``OUTSIDE``."""
        raise NotImplementedError

    def records(self) -> dict[tuple[str, str], Answer]:
        """The zone's records, relative names, without SOA and apex NS."""
        raise NotImplementedError

    def answer(self, name: str, rtype: str = "A") -> Answer | None:
        return self.records().get((name, rtype))

    def put(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        raise NotImplementedError

    def delete(self, name: str, rtype: str) -> None:
        raise NotImplementedError

    def ours(self, environment: str = "production") -> dict[tuple[str, str], Answer]:
        """Records under ``<environment>``: what the sync of that environment manages."""
        return {k: v for k, v in self.records().items() if k[0].endswith(f".{environment}")}

    def outside(self) -> dict[tuple[str, str], Answer]:
        return {k: v for k, v in self.records().items() if k in OUTSIDE}


class PowerDnsTarget(Target):
    name = "powerdns"

    def __init__(self, pdns: PowerDns) -> None:
        self.pdns = pdns
        self.env = pdns.env

    def reset(self) -> None:
        self.pdns.delete_zones()
        self.pdns.create_zone(ZONE)
        for (name, rtype), ans in OUTSIDE.items():
            self.put(name, rtype, ans.values, ans.ttl)

    def records(self) -> dict[tuple[str, str], Answer]:
        out = {}
        for (fqdn, rtype), ans in self.pdns.rrsets(ZONE).items():
            name = _relative(fqdn)
            if rtype not in ("SOA", "NS") or name:
                out[(name, rtype)] = ans
        return out

    def answer(self, name: str, rtype: str = "A") -> Answer | None:
        """What a resolver gets from PowerDNS's DNS port (not the API)."""
        return self.pdns.query(f"{name}.{ZONE}", rtype)

    def put(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        self.pdns.set_record(ZONE, f"{name}.{ZONE}", rtype, values, ttl)

    def delete(self, name: str, rtype: str) -> None:
        self.pdns.delete_record(ZONE, f"{name}.{ZONE}", rtype)


class BindTarget(Target):
    """named, written by octoDNS with dynamic updates signed by the ``octodns-rancher`` key; hand
    edits are dynamic updates signed by the ``admin`` key, as an operator's ``nsupdate``."""

    name = "rfc2136"

    def __init__(self, bind: Bind) -> None:
        self.bind = bind
        self.env = bind.env

    def reset(self) -> None:
        self.bind.clear()
        for (name, rtype), ans in OUTSIDE.items():
            self.put(name, rtype, ans.values, ans.ttl)

    def records(self) -> dict[tuple[str, str], Answer]:
        out = {}
        for (fqdn, rtype), ans in self.bind.rrsets().items():
            name = _relative(fqdn)
            if (rtype not in ("SOA", "NS") or name) and name != "ns1":
                out[(name, rtype)] = ans
        return out

    def answer(self, name: str, rtype: str = "A") -> Answer | None:
        """What a resolver gets from named's DNS port."""
        return self.bind.query(f"{name}.{ZONE}", rtype)

    def put(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        self.bind.set_record(f"{name}.{ZONE}", rtype, values, ttl)

    def delete(self, name: str, rtype: str) -> None:
        self.bind.delete_record(f"{name}.{ZONE}", rtype)


class Route53Target(Target):
    name = "route53"

    def __init__(self, moto: MotoServer) -> None:
        self.moto = moto
        self.env = moto.env
        self.zone_id = ""

    def reset(self) -> None:
        self.moto.reset()
        self.zone_id = self.moto.create_zone(ZONE)
        for (name, rtype), ans in OUTSIDE.items():
            self.put(name, rtype, ans.values, ans.ttl)
        self.moto.clear_requests()

    def records(self) -> dict[tuple[str, str], Answer]:
        out = {}
        for rrset in self.moto.record_sets(self.zone_id):
            name = _relative(rrset["Name"])
            if rrset["Type"] in ("SOA", "NS") and not name:
                continue
            values = sorted(r["Value"] for r in rrset.get("ResourceRecords", []))
            out[(name, rrset["Type"])] = Answer(rrset["TTL"], values)
        return out

    def put(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        self._change("UPSERT", name, rtype, values, ttl)

    def delete(self, name: str, rtype: str) -> None:
        current = self.records()[(name, rtype)]
        self._change("DELETE", name, rtype, current.values, current.ttl)

    def _change(self, action: str, name: str, rtype: str, values: list[str], ttl: int) -> None:
        self.moto.client().change_resource_record_sets(
            HostedZoneId=self.zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": action,
                        "ResourceRecordSet": {
                            "Name": f"{name}.{ZONE}.",
                            "Type": rtype,
                            "TTL": ttl,
                            "ResourceRecords": [{"Value": v} for v in values],
                        },
                    }
                ]
            },
        )


def _relative(fqdn: str) -> str:
    name = fqdn.rstrip(".").lower()
    return "" if name == ZONE else name.removesuffix(f".{ZONE}")


@pytest.fixture(scope="session")
def pdns() -> Iterator[PowerDns]:
    with PowerDns() as server:
        yield server


@pytest.fixture(scope="session")
def named() -> Iterator[Bind]:
    with Bind(ZONE) as server:
        yield server


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def powerdns(pdns: PowerDns) -> PowerDnsTarget:
    target = PowerDnsTarget(pdns)
    target.reset()
    return target


@pytest.fixture
def bind(named: Bind) -> BindTarget:
    target = BindTarget(named)
    target.reset()
    return target


@pytest.fixture
def route53(moto: MotoServer) -> Route53Target:
    target = Route53Target(moto)
    target.reset()
    return target


@pytest.fixture(params=["powerdns", "bind", "route53"])
def target(request: pytest.FixtureRequest) -> Target:
    """Each provider in turn, reset to a zone holding only ``OUTSIDE``."""
    return request.getfixturevalue(request.param)


# -- metadata ------------------------------------------------------------------------------


def shop(
    placement: dict[str, list[str]], environment: str = "Production", stack: str = "shop"
) -> dict[str, Any]:
    """A metadata tree: one service per key, one running container per listed host."""
    services = [
        scenario.service(
            stack,
            name,
            [
                scenario.container(stack, name, i + 1, h, ports=["0.0.0.0:80:80/tcp"])
                for i, h in enumerate(hosts)
            ],
        )
        for name, hosts in placement.items()
    ]
    hosts = [scenario.host(n, ip) for n, ip in HOSTS.items()]
    return {"2016-07-29": scenario.tree(services, hosts, environment)}


def ips(*hosts: str) -> list[str]:
    return sorted(HOSTS[h] for h in hosts)


@pytest.fixture
def metadata_server() -> Iterator[MetadataServer]:
    """rancher-metadata over HTTP; tests load their scenario with ``.reload(shop(...))``."""
    with MetadataServer(shop({})) as srv:
        yield srv


# -- the operator's checkout ---------------------------------------------------------------


@dataclass
class Site:
    """A checkout with ``zones/`` and ``octodns.yaml`` for one environment and provider."""

    root: Path
    metadata_url: str
    target: Target
    environment: str = "Production"
    init_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cli_init: bool = False

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "octodns.yaml"
        cmd = [
            "octodns-rancher",
            "init",
            "--zone",
            ZONE,
            "--environment",
            self.environment,
            "--provider",
            self.target.name,
            "--zones-dir",
            "./zones",
            "-o",
            str(self.config),
            *self.init_args,
        ]
        if self.cli_init:
            run(cmd, cwd=self.root, check=True)
            return
        # The same rendering in-process (it saves a process start per test).
        opts = _init_options(self.init_args)
        self.config.write_text(
            render_octodns_config(ZONE, self.environment, self.target.name, "./zones", **opts)
        )

    def generate(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return run(
            [
                "octodns-rancher",
                "generate",
                "--metadata-url",
                self.metadata_url,
                "--zone",
                ZONE,
                "--environment",
                self.environment,
                "--zones-dir",
                "zones",
                *extra,
            ],
            cwd=self.root,
            check=True,
        )

    def sync(
        self,
        *extra: str,
        doit: bool = True,
        env: dict[str, str] | None = None,
        config: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``octodns-sync`` for real; the result, whatever the exit status."""
        config = config or self.config
        cmd = ["octodns-sync", "--config-file", str(config), *(["--doit"] if doit else [])]
        return run(
            [*cmd, *extra], cwd=self.root, env={**self.target.env, **self.env, **(env or {})}
        )

    def publish(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """generate, then ``octodns-sync --doit``; fails the test if either fails."""
        self.generate()
        proc = self.sync(*extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc


@pytest.fixture
def site(tmp_path: Path, metadata_server: MetadataServer, target: Target) -> Site:
    return Site(tmp_path / "site", metadata_server.url, target)


def _init_options(args: tuple[str, ...]) -> dict[str, str]:
    """``--policy X --owner-id Y --ownership Z --environment-uuid U`` as keyword arguments of
    ``render_octodns_config``."""
    flags = dict(zip(args[::2], args[1::2], strict=True))
    known = {
        "--policy": "policy",
        "--owner-id": "owner_id",
        "--ownership": "ownership",
        "--environment-uuid": "environment_uuid",
    }
    return {known[k]: v for k, v in flags.items()}


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def assert_refused(site: Site, *phrases: str) -> None:
    """A sync that must fail, saying each phrase, and leave the provider exactly as it was."""
    before = site.target.records()
    proc = site.sync()
    assert proc.returncode != 0
    for phrase in phrases:
        assert phrase in output(proc), output(proc)[-2000:]
    assert site.target.records() == before


def planned(proc: subprocess.CompletedProcess[str], kind: str) -> set[str]:
    """Names (relative to the zone) of the plan's ``Create``/``Update``/``Delete`` entries."""
    lines = [line.strip() for line in output(proc).splitlines()]
    names = set()
    for i, line in enumerate(lines):
        if kind == "Update" and line == "*   Update" and i + 1 < len(lines):
            entry = lines[i + 1]  # "*     <ARecord A 300, name.example.com., [...]> ->"
        elif line.startswith(f"*   {kind} <"):
            entry = line
        else:
            continue
        names.add(_relative(entry.split(", ", 2)[1]))
    return names
