"""Render the octoDNS configuration for one zone and environment from a Jinja2 template.

The config is what keeps ``octodns-sync`` inside ``<environment>.<zone>``: the zone files are
the source, the provider is the target, and a ``NameAllowlistFilter`` on both sides means records
outside the subtree (``www``, ``test-default``, another environment) are neither read nor
planned, so they can never be changed or deleted. The one exception, given the Rancher
environment's uuid, is Rancher's external DNS state record ``external-dns-<uuid>``, which the
ownership processors read when moving from that service and only ever delete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined

from .errors import ConfigError
from .rancher_state import state_record_name
from .records import Settings, environment_label

# "powerdns-axfr": PowerDNS read through a TSIG-signed zone transfer, for plans only; its
# target keeps the name "powerdns", so its plan reads (and checksums) like the API's.
PROVIDERS = ("route53", "powerdns", "powerdns-axfr", "rfc2136", "yaml")
TARGET_NAMES = {"powerdns-axfr": "powerdns"}
POLICIES = ("sync", "upsert-only")
# "record": a TXT marker per record (RancherOwnership); "subtree": one marker claims
# <environment>.<zone> (SubtreeOwnership).
OWNERSHIP = ("record", "subtree")
# What an owner id may hold: it goes into a TXT value and a quoted YAML scalar, and has no "/"
# (octoDNS would read "env/NAME" as a secret reference).
_OWNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=@+-]{0,199}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def allowlist_pattern(environment: str) -> str:
    r"""octoDNS's regex form (``/.../``) matching names strictly below ``<environment>``.

    Anchored with ``\Z``: octoDNS searches with the pattern, and ``$`` also matches before a
    final newline, which a provider's name can hold (Route53 writes it as ``\012``, and
    octodns-route53 turns that back into a newline).
    """
    return rf"/\.{environment_label(environment)}\Z/"


def relative_subtree(name: str, zone: str) -> str:
    """Another subtree this config manages, relative to ``zone`` (``c1`` or ``c1.example.com``
    → ``c1``): a Kubernetes cluster, or a subtree a source's config lists."""
    raw = str(name).lower().rstrip(".")
    if raw.endswith("." + zone):
        raw = raw[: -len(zone) - 1]
    labels = raw.split(".")
    if not raw or not all(_LABEL.fullmatch(label) for label in labels):
        raise ConfigError(f"invalid subtree {name!r}: expected names such as c1 or c1.{zone}")
    return raw


def subtree_pattern(relative: str) -> str:
    """octoDNS's regex form (``/.../``) matching names strictly below a relative subtree, anchored
    with ``\\Z`` for the reason ``allowlist_pattern`` gives."""
    return "/\\." + "\\.".join(relative.split(".")) + "\\Z/"


def default_owner_id(environment: str) -> str:
    """The owner id when none is given: one per environment, so two environments that share a
    hosted zone never claim each other's records. Two Rancher installations with an environment
    of the same name in one zone must each pass their own ``--owner-id``."""
    return f"octodns-rancher:{environment_label(environment)}"


def check_owner_id(owner_id: str) -> str:
    if not _OWNER_ID.fullmatch(owner_id):
        raise ConfigError(
            f"invalid owner id {owner_id!r}: use 1-200 letters, digits and . _ : = @ + -, "
            "starting with a letter or digit"
        )
    return owner_id


def render_octodns_config(
    zone: str,
    environment: str,
    provider: str = "route53",
    zones_dir: str = "./zones",
    policy: str = "sync",
    owner_id: str | None = None,
    ownership: str = "record",
    environment_uuid: str | None = None,
    subtrees: Sequence[str] = (),
) -> str:
    """The config for ``<environment>.<zone>``, and for each of ``subtrees`` as well (another
    source publishing into the same zone file, such as a Kubernetes cluster)."""
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    if policy not in POLICIES:
        raise ConfigError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
    if ownership not in OWNERSHIP:
        raise ConfigError(f"unknown ownership {ownership!r}; use one of {', '.join(OWNERSHIP)}")
    zone = Settings(zone=zone).zone
    extra = [relative_subtree(s, zone) for s in subtrees]
    extra = [s for s in dict.fromkeys(extra) if s != environment_label(environment)]
    env = Environment(
        loader=PackageLoader("octodns_rancher", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template("octodns.yaml.j2").render(
        zone=zone,
        environment=environment_label(environment),
        allowlist=allowlist_pattern(environment),
        extra_subtrees=[(s, subtree_pattern(s), re.sub(r"[^a-z0-9]", "-", s)) for s in extra],
        provider=provider,
        target=TARGET_NAMES.get(provider, provider),
        zones_dir=zones_dir,
        policy=policy,
        owner_id=check_owner_id(owner_id or default_owner_id(environment)),
        ownership=ownership,
        state_record=state_record_name(environment_uuid) if environment_uuid else "",
    )
