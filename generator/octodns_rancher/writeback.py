"""Tell Rancher each service's public name once its records are applied.

Rancher 1.x's external DNS service did this after every change it made: it created an
``externalDnsEvent`` (``eventType: dns.update``) through the Rancher API, with the fqdn as
``externalId``, and Rancher showed the fqdn on the service. We send the same event.

Which service a record belongs to is read from the ``octodns: rancher: {service, stack, uuid}``
annotation the generator wrote into the zone file, never guessed from the record's name (a
name template can put the labels in any order). A failed event is retried, then reported; it
never fails the DNS sync that came before it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .logs import clip
from .publish import summarize
from .redact import redact_url

log = logging.getLogger(__name__)

EVENT_TYPE = "dns.update"
COLLECTION = "externaldnsevents"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# All events of one write-back (retries and pauses included) end within this many seconds.
DEFAULT_DEADLINE = 300.0


@dataclass(frozen=True)
class ServiceFqdn:
    """One service's public name, as announced to Rancher."""

    fqdn: str
    service: str
    stack: str
    uuid: str = ""

    def event(self) -> dict[str, str]:
        return {
            "eventType": EVENT_TYPE,
            "externalId": self.fqdn,
            "serviceName": self.service,
            "stackName": self.stack,
            "fqdn": self.fqdn,
        }


@dataclass
class Report:
    sent: list[ServiceFqdn] = field(default_factory=list)
    failed: list[tuple[ServiceFqdn, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def line(self) -> str:
        """The summary; each failure was logged once, when it happened."""
        return f"write-back: {len(self.sent)} sent, {len(self.failed)} failed"


def services_in_zone(text: str, zone: str, names: set[str] | None = None) -> list[ServiceFqdn]:
    """Services named by the annotations of a zone file's text (optionally only ``names``)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"zone file for {zone} is not valid YAML: {_one_line(e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"zone file for {zone} is not a mapping of names to records")
    origin = zone.rstrip(".").lower()
    out: dict[str, ServiceFqdn] = {}
    for name, value in sorted(data.items(), key=lambda kv: str(kv[0])):
        name = str(name)
        if names is not None and name not in names:
            continue
        for record in value if isinstance(value, list) else [value]:
            ref = _annotation(record)
            if ref is None:
                continue
            fqdn = f"{name}.{origin}." if name else f"{origin}."
            out.setdefault(fqdn, ServiceFqdn(fqdn, ref["service"], ref["stack"], ref["uuid"]))
    return list(out.values())


def changed_names(old_text: str | None, new_text: str) -> set[str]:
    """Names added or changed between two versions of a zone file (removed ones have no fqdn)."""
    s = summarize(old_text, new_text)
    return set(s.added) | set(s.changed)


class RancherApi:
    """The Rancher (Cattle) API through ``httpclient``: deadlines, bounded retries, redirects
    only within the API's origin, and URLs without credentials in every message."""

    def __init__(
        self,
        url: str,
        access_key: str | None,
        secret_key: str | None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        from .httpclient import Client, Limits

        if not url:
            raise ConfigError("no Rancher API URL: pass --cattle-url or set CATTLE_URL")
        self.url = url.rstrip("/")
        try:
            limits = Limits(
                timeout,
                deadline,
                retries=max(0, retries),
                backoff=backoff,
                retry_status=RETRY_STATUS,
            )
        except ValueError as e:
            raise ConfigError(f"write-back: {e}") from None
        auth = (access_key or "", secret_key or "") if (access_key or secret_key) else None
        self.http = Client(
            limits,
            "the Rancher API",
            headers={"Accept": "application/json", "User-Agent": "octodns-rancher writeback"},
            auth=auth,
        )

    def __repr__(self) -> str:  # never shows the keys
        return f"RancherApi[{redact_url(self.url)}]"

    def post_event(self, target: ServiceFqdn) -> None:
        """POST one ``externalDnsEvent``; raises ``WritebackError`` after the last attempt."""
        from .httpclient import HttpError

        url = f"{self.url}/{COLLECTION}"
        try:
            answer = self.http.request("POST", url, json=target.event())
        except HttpError as e:
            raise WritebackError(str(e)) from None
        if answer.status >= 300:
            raise WritebackError(
                f"HTTP {answer.status} from {redact_url(url)}: {clip(answer.text) or answer.reason}"
            )

    def close(self) -> None:
        self.http.close()


class WritebackError(Exception):
    """One event could not be delivered; collected in the report, never raised to the CLI."""


def write_back(api: RancherApi, targets: list[ServiceFqdn]) -> Report:
    """Send every target's event within one deadline; failures are collected, never raised.

    A failed service is one warning line (its attempts are logged at debug level).
    """
    report = Report()
    with api.http.run():
        for target in targets:
            try:
                api.post_event(target)
            except WritebackError as e:
                log.warning(
                    "write-back of %s for service %s/%s failed: %s",
                    target.fqdn,
                    target.stack,
                    target.service,
                    e,
                )
                report.failed.append((target, str(e)))
            else:
                log.info(
                    "Rancher service %s/%s: fqdn %s", target.stack, target.service, target.fqdn
                )
                report.sent.append(target)
    return report


def zone_at_revision(path: Path, revision: str) -> str | None:
    """The zone file's text at a git revision; None if it did not exist (or the revision
    is unknown, e.g. the all-zero "before" of a new branch: then every service is sent)."""
    from .gitrepo import GitRepo

    repo = GitRepo(path.parent)
    known = repo.git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    if known.returncode != 0:
        log.warning("unknown revision %s; writing back every service in %s", revision, path)
        return None
    shown = repo.git("show", f"{revision}:{repo.relative(path)}", check=False)
    return shown.stdout if shown.returncode == 0 else None


def read_zone(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read zone file {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"zone file {path} is not UTF-8 text: {e.reason} at byte {e.start}"
        ) from None


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _annotation(record: Any) -> dict[str, str] | None:
    if not isinstance(record, dict):
        return None
    ref = (record.get("octodns") or {}).get("rancher")
    if not isinstance(ref, dict) or not ref.get("service") or not ref.get("stack"):
        return None
    return {k: str(ref.get(k) or "") for k in ("service", "stack", "uuid")}
