"""A real PowerDNS Authoritative server on 127.0.0.1 for end-to-end tests.

``pdns_server`` (Debian ``pdns-server`` + ``pdns-backend-sqlite3``) runs in the foreground with a
fresh sqlite3 database, DNS on a free unprivileged port and its HTTP API on another::

    with PowerDns() as pdns:
        run(["octodns-sync", "--config-file", cfg, "--doit"], env=pdns.env)
        pdns.query("web.shop.production.example.com", "A")   # -> Answer(ttl=300, values=[...])

Answers come from the DNS port (dnspython over UDP), not from the API, so a test sees what a
resolver would. Caches are off so an answer reflects the last sync at once. If the server cannot
start, ``PowerDnsError`` says why, with the server's own log: tests fail, they never skip.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

PDNS_SERVER = "pdns_server"
SCHEMAS = (
    Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"),
    Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"),
)
API_KEY = "octodns-rancher-test-key"


class PowerDnsError(RuntimeError):
    """PowerDNS could not be started or answered an API call with an error."""


class Answer(NamedTuple):
    """A record set as a resolver sees it; compares equal to ``(ttl, values)``."""

    ttl: int
    values: list[str]


_S = TypeVar("_S", bound="ServerProcess")


class ServerProcess:
    """A server the tests run as a child process in a scratch directory: stopped with SIGTERM
    (SIGKILL after 10 s), its directory removed; a context manager around ``start``/``stop``."""

    proc: subprocess.Popen[bytes] | None
    workdir: Path | None

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        self._kill()
        self._cleanup()

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def _cleanup(self) -> None:
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PowerDns(ServerProcess):
    """Start with ``with PowerDns() as pdns:``; ``pdns.env`` configures octodns-powerdns."""

    def __init__(self, startup_timeout: float = 20.0, extra_args: tuple[str, ...] = ()) -> None:
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args  # more pdns_server settings, e.g. "--allow-axfr-ips=..."
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self.dns_port = 0
        self.api_port = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> PowerDns:
        binary = shutil.which(PDNS_SERVER) or shutil.which(PDNS_SERVER, path="/usr/sbin:/sbin")
        if not binary:
            raise PowerDnsError(
                "pdns_server not found: install pdns-server and pdns-backend-sqlite3 "
                "(scripts/setup.sh does)"
            )
        schema = next((p for p in SCHEMAS if p.exists()), None)
        if schema is None:
            raise PowerDnsError(
                f"sqlite3 schema of PowerDNS not found in {', '.join(map(str, SCHEMAS))}: "
                "install pdns-backend-sqlite3"
            )
        self.workdir = Path(tempfile.mkdtemp(prefix="pdns-"))
        db = self.workdir / "pdns.sqlite3"
        with sqlite3.connect(db) as conn:
            conn.executescript(schema.read_text())
        (self.workdir / "pdns.conf").write_text("")
        last_error = ""
        for _ in range(3):  # a free port can be taken between probing and binding
            self.dns_port, self.api_port = free_port(), free_port()
            log = (self.workdir / "pdns.log").open("wb")
            self.proc = subprocess.Popen(
                [binary, *self._args(db)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            last_error = self._wait_ready()
            if not last_error:
                return self
            self._kill()
        text = (self.workdir / "pdns.log").read_text(errors="replace")[-3000:]
        self._cleanup()
        raise PowerDnsError(
            f"pdns_server did not start: {last_error}\n--- pdns_server log ---\n{text}"
        )

    def _args(self, db: Path) -> list[str]:
        assert self.workdir is not None
        return [
            f"--config-dir={self.workdir}",
            f"--socket-dir={self.workdir}",
            "--daemon=no",
            "--guardian=no",
            "--disable-syslog=yes",
            "--write-pid=no",
            "--loglevel=4",
            "--local-address=127.0.0.1",
            f"--local-port={self.dns_port}",
            "--launch=gsqlite3",
            f"--gsqlite3-database={db}",
            "--api=yes",
            f"--api-key={API_KEY}",
            "--webserver=yes",
            "--webserver-address=127.0.0.1",
            f"--webserver-port={self.api_port}",
            "--webserver-allow-from=127.0.0.1/32",
            # Answers must show the last write at once.
            "--cache-ttl=0",
            "--negquery-cache-ttl=0",
            "--query-cache-ttl=0",
            "--zone-cache-refresh-interval=0",
            "--consistent-backends=yes",
            "--default-soa-content=ns1.example.test. hostmaster.@ 0 10800 3600 604800 300",
            *self.extra_args,
        ]

    def _wait_ready(self) -> str:
        """ "" once the API and the DNS port answer; otherwise why not."""
        deadline = time.monotonic() + self.startup_timeout
        error = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return f"pdns_server exited with status {self.proc.returncode}"
            try:
                self.api("GET", "")
                self._dns_probe()
                return ""
            except (OSError, PowerDnsError) as e:
                error = str(e)
            time.sleep(0.1)
        return f"not ready after {self.startup_timeout:.0f}s ({error})"

    def _dns_probe(self) -> None:
        import dns.exception
        import dns.message
        import dns.query

        try:
            dns.query.udp(
                dns.message.make_query("probe.invalid.", "A"),
                "127.0.0.1",
                port=self.dns_port,
                timeout=0.5,
            )
        except dns.exception.Timeout as e:
            raise PowerDnsError(f"no DNS answer on 127.0.0.1:{self.dns_port}") from e

    # -- what to give octodns-sync ---------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Variables read by the ``powerdns`` provider of the rendered octoDNS config."""
        return {
            "PDNS_API_HOST": "127.0.0.1",
            "PDNS_API_PORT": str(self.api_port),
            "PDNS_API_KEY": API_KEY,
            "PDNS_API_SCHEME": "http",
        }

    # -- the HTTP API ----------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/api/v1/servers/localhost<path>``; the decoded JSON answer (or None)."""
        url = f"http://127.0.0.1:{self.api_port}/api/v1/servers/localhost{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("X-API-Key", API_KEY)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise PowerDnsError(f"PowerDNS API {method} {path}: {e.code} {detail}") from e
        return json.loads(raw) if raw else None

    def zones(self) -> list[str]:
        return [z["name"] for z in self.api("GET", "/zones")]

    def create_zone(self, zone: str) -> None:
        """A native zone with its SOA and NS, as an operator would create it."""
        name = _fqdn(zone)
        self.api(
            "POST",
            "/zones",
            {"name": name, "kind": "Native", "nameservers": [f"ns1.{name}"]},
        )

    def delete_zones(self) -> None:
        """Remove every zone: the reset between tests."""
        for name in self.zones():
            self.api("DELETE", f"/zones/{name}")

    def set_record(
        self, zone: str, name: str, rtype: str, values: list[str], ttl: int = 300
    ) -> None:
        """Create or replace a record set by hand, as someone outside octoDNS would."""
        self._patch(
            zone,
            {
                "name": _fqdn(name),
                "type": rtype,
                "ttl": ttl,
                "changetype": "REPLACE",
                "records": [{"content": v, "disabled": False} for v in values],
            },
        )

    def create_tsig_key(self, name: str, algorithm: str = "hmac-sha256") -> str:
        """A new TSIG key made by PowerDNS; returns its secret (base64)."""
        return self.api("POST", "/tsigkeys", {"name": name, "algorithm": algorithm})["key"]

    def allow_axfr(self, zone: str, key_names: list[str]) -> None:
        """Let these TSIG keys transfer the zone (the zone's TSIG-ALLOW-AXFR)."""
        self.api("PUT", f"/zones/{_fqdn(zone)}", {"master_tsig_key_ids": key_names})

    def delete_record(self, zone: str, name: str, rtype: str) -> None:
        self._patch(zone, {"name": _fqdn(name), "type": rtype, "changetype": "DELETE"})

    def _patch(self, zone: str, rrset: dict[str, Any]) -> None:
        self.api("PATCH", f"/zones/{_fqdn(zone)}", {"rrsets": [rrset]})

    def rrsets(self, zone: str) -> dict[tuple[str, str], Answer]:
        """Every record set of a zone from the API: ``{(fqdn, type): Answer}``."""
        data = self.api("GET", f"/zones/{_fqdn(zone)}")
        return {
            (r["name"], r["type"]): Answer(r["ttl"], sorted(x["content"] for x in r["records"]))
            for r in data["rrsets"]
        }

    # -- DNS -------------------------------------------------------------------------------
    def query(self, name: str, rtype: str = "A") -> Answer | None:
        """Ask the DNS port like a resolver would; None for NXDOMAIN or no data."""
        try:
            return dns_answer(self.dns_port, _fqdn(name), rtype)
        except DnsAnswerError as e:
            raise PowerDnsError(str(e)) from e


class DnsAnswerError(RuntimeError):
    """A DNS server answered with an error code."""


def dns_answer(port: int, fqdn: str, rtype: str = "A", timeout: float = 3) -> Answer | None:
    """Ask 127.0.0.1:``port`` like a resolver would (UDP, TCP when truncated); None for
    NXDOMAIN or no data."""
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    q = dns.message.make_query(fqdn, rtype)
    resp = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    if resp.flags & dns.flags.TC:
        resp = dns.query.tcp(q, "127.0.0.1", port=port, timeout=timeout)
    if resp.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise DnsAnswerError(f"{fqdn} {rtype}: {dns.rcode.to_text(resp.rcode())}")
    want = dns.rdatatype.from_text(rtype)
    for rrset in resp.answer:
        if rrset.rdtype == want:
            return Answer(rrset.ttl, sorted(r.to_text() for r in rrset))
    return None


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
