"""A real BIND 9 ``named`` on 127.0.0.1 for end-to-end tests of the RFC 2136 provider.

``named`` (Debian ``bind9``) runs in the foreground from its own directory with one primary zone,
DNS over UDP and TCP on a free unprivileged port, and two TSIG keys::

    with Bind("example.com") as bind:
        run(["octodns-sync", "--config-file", cfg, "--doit"], env=bind.env)
        bind.query("web.shop.production.example.com", "A")   # -> Answer(ttl=300, values=[...])

- ``octodns-rancher`` is the key octoDNS signs with (``bind.env``). Its ``update-policy`` grants
  are a constructor argument, so a test can start a server that gives the key only what
  ``octodns-rancher bind-policy`` prints; by default it may write anywhere in the zone.
- ``admin`` stands for the operator: the harness's own hand edits (``set_record``,
  ``delete_record``) and zone reads (``rrsets``, by zone transfer) are dynamic updates and
  transfers signed with it, as ``nsupdate``/``dig axfr`` would be.

Answers come from the DNS port, as a resolver sees them. ``counters()`` reads named's statistics
channel: update messages applied and refused, zone transfers served. If named cannot start,
``BindError`` says why with named's own log: tests fail, they never skip.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.zone

from tests.support.pdns import Answer, DnsAnswerError, ServerProcess, dns_answer, free_port

NAMED = "named"
KEY = "octodns-rancher"
ADMIN = "admin"
ALGORITHM = "hmac-sha256"
# The directory's prefix is what scripts/setup.sh lets named use under AppArmor.
WORKDIR_PREFIX = "octodns-rancher-named-"
# The key may write anywhere in the zone (``bind-policy`` prints the narrow grants).
OPEN_POLICY = (f"grant {KEY} zonesub ANY;",)


class BindError(RuntimeError):
    """named could not be started, or refused one of the harness's own requests."""


class Bind(ServerProcess):
    """Start with ``with Bind(zone) as bind:``; ``bind.env`` configures the rendered config."""

    def __init__(
        self,
        zone: str,
        grants: Iterable[str] = OPEN_POLICY,
        startup_timeout: float = 20.0,
        transfer_keys: Iterable[str] = (KEY, ADMIN),
    ) -> None:
        self.zone = zone.rstrip(".")
        self.grants = tuple(grants)
        self.transfer_keys = tuple(transfer_keys)
        self.startup_timeout = startup_timeout
        self.secret = _secret()
        self.admin_secret = _secret()
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self.port = 0
        self.stats_port = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Bind:
        binary = shutil.which(NAMED) or shutil.which(NAMED, path="/usr/sbin:/sbin")
        if not binary:
            raise BindError("named not found: install bind9 (scripts/setup.sh does)")
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir="/tmp"))
        self.workdir.chmod(0o755)
        last_error = ""
        for _ in range(3):  # a free port can be taken between probing and binding
            self.port, self.stats_port = free_port(), free_port()
            self._write_config()
            with (self.workdir / "named.out").open("wb") as out:
                self.proc = subprocess.Popen(
                    [binary, *self._args()],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            last_error = self._wait_ready()
            if not last_error:
                return self
            self._kill()
        text = self.log()[-3000:]
        self._cleanup()
        raise BindError(f"named did not start: {last_error}\n--- named log ---\n{text}")

    def _args(self) -> list[str]:
        assert self.workdir is not None
        # -f: foreground; -L: what it logs before it reads the logging statement (a config
        # error) to a file, not to syslog; -u only when root.
        user = ["-u", "root"] if _is_root() else []
        startup = str(self.workdir / "named.stderr")
        return ["-f", "-L", startup, "-c", str(self.workdir / "named.conf"), *user]

    def _write_config(self) -> None:
        wd = self.workdir
        assert wd is not None
        zone_file = wd / f"{self.zone}.zone"
        zone_file.write_text(
            f"$ORIGIN {self.zone}.\n$TTL 300\n"
            f"@ IN SOA ns1.{self.zone}. hostmaster.{self.zone}. 1 3600 600 604800 300\n"
            f"@ IN NS ns1.{self.zone}.\n"
            "ns1 IN A 127.0.0.1\n"
        )
        for jnl in wd.glob("*.jnl"):
            jnl.unlink()
        grants = "\n".join(f"    {g}" for g in (f"grant {ADMIN} zonesub ANY;", *self.grants))
        transfer = " ".join(f"key {k};" for k in self.transfer_keys) or "none;"
        (wd / "named.conf").write_text(
            f"""key "{KEY}" {{ algorithm {ALGORITHM}; secret "{self.secret}"; }};
key "{ADMIN}" {{ algorithm {ALGORITHM}; secret "{self.admin_secret}"; }};
controls {{ }};
statistics-channels {{ inet 127.0.0.1 port {self.stats_port} allow {{ 127.0.0.1; }}; }};
options {{
  directory "{wd}";
  pid-file "{wd}/named.pid";
  session-keyfile "{wd}/session.key";
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  notify no;
  dnssec-validation no;
  allow-query {{ 127.0.0.1; }};
  allow-transfer {{ none; }};
}};
logging {{
  channel main {{ file "{wd}/named.log"; severity info; print-time yes; print-category yes; }};
  category default {{ main; }};
  category update {{ main; }};
  category update-security {{ main; }};
  category xfer-out {{ main; }};
  category security {{ main; }};
}};
zone "{self.zone}" {{
  type primary;
  file "{zone_file}";
  allow-transfer {{ {transfer} }};
  update-policy {{
{grants}
  }};
}};
"""
        )

    def _wait_ready(self) -> str:
        """ "" once the zone answers over DNS; otherwise why not."""
        deadline = time.monotonic() + self.startup_timeout
        error = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return f"named exited with status {self.proc.returncode}"
            try:
                if dns_answer(self.port, f"{self.zone}.", "SOA", timeout=0.3) is not None:
                    return ""
                error = f"no SOA for {self.zone} yet"
            except (OSError, DnsAnswerError, dns.exception.DNSException) as e:
                error = str(e) or type(e).__name__
            time.sleep(0.1)
        return f"not ready after {self.startup_timeout:.0f}s ({error})"

    def log(self) -> str:
        """named's log: what it wrote before and after reading its logging statement."""
        if not self.workdir:
            return ""
        parts = [self.workdir / n for n in ("named.out", "named.stderr", "named.log")]
        text = "".join(p.read_text(errors="replace") for p in parts if p.exists())
        if "permission denied" in text.lower():
            text += (
                "\n(permission denied: if AppArmor confines named, run scripts/setup.sh, "
                f"which allows /tmp/{WORKDIR_PREFIX}*)"
            )
        return text

    # -- what to give octodns-sync ---------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Variables read by the ``rfc2136`` provider of the rendered octoDNS config."""
        return {
            "RFC2136_HOST": "127.0.0.1",
            "RFC2136_PORT": str(self.port),
            "RFC2136_TSIG_KEYNAME": KEY,
            "RFC2136_TSIG_SECRET": self.secret,
            "RFC2136_TSIG_ALGORITHM": ALGORITHM,
        }

    def counters(self) -> dict[str, int]:
        """named's server counters from its statistics channel, e.g. ``UpdateDone`` (update
        messages applied), ``UpdateRej`` (refused), ``XfrReqDone`` (zone transfers served)."""
        url = f"http://127.0.0.1:{self.stats_port}/json/v1/server"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return dict(json.load(resp).get("nsstats", {}))

    # -- the operator's hand, with the admin key -------------------------------------------
    def keyring(self, key: str = ADMIN) -> dict[dns.name.Name, dns.tsig.Key]:
        secret = {ADMIN: self.admin_secret, KEY: self.secret}[key]
        return dns.tsigkeyring.from_text({key: (ALGORITHM, secret)})

    def update(self, key: str = ADMIN) -> dns.update.UpdateMessage:
        """An empty dynamic update of the zone, signed with ``key`` when sent."""
        return dns.update.UpdateMessage(f"{self.zone}.", keyring=self.keyring(key))

    def send(self, update: dns.update.UpdateMessage) -> int:
        """Send a dynamic update over TCP; named's rcode."""
        return dns.query.tcp(update, "127.0.0.1", port=self.port, timeout=10).rcode()

    def _apply(self, update: dns.update.UpdateMessage) -> None:
        rcode = self.send(update)
        if rcode != dns.rcode.NOERROR:
            raise BindError(f"update of {self.zone} refused: {dns.rcode.to_text(rcode)}")

    def set_record(self, name: str, rtype: str, values: list[str], ttl: int = 300) -> None:
        """Create or replace a record set by hand, as someone outside octoDNS would."""
        update = self.update()
        update.replace(_fqdn(name), ttl, rtype, *values)
        self._apply(update)

    def delete_record(self, name: str, rtype: str) -> None:
        update = self.update()
        update.delete(_fqdn(name), rtype)
        self._apply(update)

    def clear(self) -> None:
        """Delete every record set but the apex's SOA and NS: the reset between tests."""
        update = self.update()
        for (fqdn, rtype), _ in self.rrsets().items():
            if fqdn == f"{self.zone}." and rtype in ("SOA", "NS"):
                continue
            if fqdn == f"ns1.{self.zone}.":
                continue
            update.delete(fqdn, rtype)
        if update.update:
            self._apply(update)

    def rrsets(self) -> dict[tuple[str, str], Answer]:
        """Every record set of the zone, by zone transfer: ``{(fqdn, type): Answer}``."""
        xfr = dns.query.xfr(
            "127.0.0.1",
            f"{self.zone}.",
            port=self.port,
            keyring=self.keyring(),
            keyname=ADMIN,
            timeout=10,
            lifetime=30,
            relativize=False,
        )
        zone = dns.zone.from_xfr(xfr, relativize=False)
        return {
            (name.to_text(), dns.rdatatype.to_text(rds.rdtype)): Answer(
                rds.ttl, sorted(r.to_text() for r in rds)
            )
            for name, node in zone.nodes.items()
            for rds in node.rdatasets
        }

    # -- DNS -------------------------------------------------------------------------------
    def query(self, name: str, rtype: str = "A") -> Answer | None:
        """Ask the DNS port like a resolver would; None for NXDOMAIN or no data."""
        try:
            return dns_answer(self.port, _fqdn(name), rtype)
        except DnsAnswerError as e:
            raise BindError(str(e)) from e


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def _secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _is_root() -> bool:
    return os.geteuid() == 0
