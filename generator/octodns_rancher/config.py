"""Render the octoDNS configuration for one zone and environment from a Jinja2 template.

The config is what keeps ``octodns-sync`` inside ``<environment>.<zone>``: the zone files are
the source, the provider is the target, and a ``NameAllowlistFilter`` on both sides means records
outside the subtree (``www``, ``test-default``, another environment) are neither read nor
planned, so they can never be changed or deleted.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from .errors import ConfigError
from .records import Settings, environment_label

PROVIDERS = ("route53", "powerdns", "yaml")
POLICIES = ("sync", "upsert-only")


def allowlist_pattern(environment: str) -> str:
    """octoDNS's regex form (``/.../``) matching names strictly below ``<environment>``."""
    return rf"/\.{environment_label(environment)}$/"


def render_octodns_config(
    zone: str,
    environment: str,
    provider: str = "route53",
    zones_dir: str = "./zones",
    policy: str = "sync",
) -> str:
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    if policy not in POLICIES:
        raise ConfigError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
    zone = Settings(zone=zone).zone
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
        provider=provider,
        zones_dir=zones_dir,
        policy=policy,
    )
