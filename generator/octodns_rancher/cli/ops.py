"""Set-up and follow-up commands: ``init``, ``iam-policy``, ``bind-policy``, ``writeback`` and
``migrate``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, PublishError
from ..writeback import DEFAULT_DEADLINE
from .options import EXIT_OK, listed, log, log_flags, truthy


def add_init(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="write an octoDNS config for a zone, environment and provider",
        description="Render config/octodns.yaml: the zone files as source, the provider as "
        "target, and a filter that keeps octoDNS inside <environment>.<zone>.",
    )
    log_flags(p)
    p.add_argument("--zone", default=os.environ.get("ROOT_DOMAIN"), help="e.g. example.com")
    p.add_argument("--environment", required=True, help="Rancher environment name")
    p.add_argument(
        "--provider",
        choices=("route53", "powerdns", "powerdns-axfr", "rfc2136", "yaml"),  # config.PROVIDERS
        default="route53",
        help="octoDNS target (default %(default)s); powerdns-axfr reads PowerDNS with a "
        "TSIG-signed zone transfer and cannot write: the config of the pull requests' plan",
    )
    p.add_argument("--zones-dir", default="./zones", help="zone files directory (./zones)")
    p.add_argument(
        "--policy",
        choices=("sync", "upsert-only"),
        default="sync",
        help="sync deletes records of removed services; upsert-only never deletes",
    )
    p.add_argument(
        "--owner-id",
        default=os.environ.get("OWNER_ID") or None,
        help="value of the TXT ownership markers, unique per environment and installation "
        "sharing a zone (env OWNER_ID; default octodns-rancher:<environment>)",
    )
    p.add_argument(
        "--ownership",
        choices=("record", "subtree"),
        default=os.environ.get("OWNERSHIP") or "record",
        help="record: a TXT marker per record, records without ours are never touched; "
        "subtree: one marker _owner.<environment> claims every name below "
        "<environment>.<zone>, half the record sets (env OWNERSHIP; default %(default)s)",
    )
    p.add_argument(
        "--environment-uuid",
        default=os.environ.get("RANCHER_ENVIRONMENT_UUID") or None,
        help="when moving from Rancher's external DNS service: the environment's uuid, whose "
        "state record external-dns-<uuid> tells which A records it made, or 'metadata' to "
        "read /self/stack's environment_uuid (env RANCHER_ENVIRONMENT_UUID; see "
        "docs/operations.md)",
    )
    p.add_argument(
        "--metadata-url",
        default=os.environ.get("METADATA_URL") or None,
        help="rancher-metadata base URL for --environment-uuid metadata (env METADATA_URL)",
    )
    p.add_argument(
        "--metadata-file",
        default=os.environ.get("METADATA_FILE") or None,
        help="a snapshot file for --environment-uuid metadata instead (env METADATA_FILE)",
    )
    p.add_argument(
        "--subtree",
        action="append",
        default=None,
        help="another name below the zone whose records the zone file holds too, e.g. a "
        "Kubernetes cluster's c1 (repeatable; env OCTODNS_SUBTREES, comma-separated)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("config/octodns.yaml"),
        help="file to write (default %(default)s; - for stdout)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from ..config import render_octodns_config
    from ..publish import write_atomic

    if not args.zone:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    uuid = args.environment_uuid
    if uuid and uuid.strip().lower() == "metadata":
        from ..rancher_state import uuid_from_metadata

        uuid = uuid_from_metadata(args.metadata_url, args.metadata_file)
        log.info("environment uuid %s (from /self/stack)", uuid)
    text = render_octodns_config(
        zone=args.zone,
        environment=args.environment,
        provider=args.provider,
        zones_dir=args.zones_dir,
        policy=args.policy,
        owner_id=args.owner_id,
        ownership=args.ownership,
        environment_uuid=uuid,
        subtrees=args.subtree or listed(os.environ.get("OCTODNS_SUBTREES", "")),
    )
    if str(args.output) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    if args.output.exists() and not args.force:
        raise ConfigError(f"{args.output} exists; pass --force to overwrite it")
    if args.output.is_dir():
        raise ConfigError(f"{args.output} is a directory; name the file to write")
    try:
        write_atomic(args.output, text)
    except OSError as e:
        raise PublishError(f"cannot write {args.output}: {e.strerror or e}") from None
    log.info("wrote %s", args.output)
    return EXIT_OK


def add_iam_policy(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser(
        "iam-policy",
        help="print the least-privilege AWS IAM policies (plan and apply roles) for Route53",
        description="Print the IAM policy JSON that lets octodns-sync plan and apply this "
        "zone in Route53 and nothing more: read calls as needed, and "
        "route53:ChangeResourceRecordSets only on the one hosted zone. With --zone and "
        "--environment, changes are also limited to A/AAAA records and their TXT "
        "ownership markers under <environment>.<zone>. --mode plan prints the read-only "
        "policy of the pull requests' plan role instead (no Change* action). --trust prints "
        "the role's trust policy for GitHub's OIDC provider: the plan role trusted only for "
        "this repository's pull requests, the apply role only for its 'dns' environment.",
    )
    log_flags(p)
    p.add_argument(
        "--mode",
        choices=("apply", "plan"),
        default=env("IAM_POLICY_MODE") or "apply",
        help="apply: the role of the apply and reconcile jobs; plan: the read-only role of "
        "the pull requests' plan job (env IAM_POLICY_MODE; default %(default)s)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        default=truthy(env("IAM_POLICY_TRUST")),
        help="print the role's OIDC trust policy instead of its permissions; needs "
        "--repository and --aws-account-id (env IAM_POLICY_TRUST=1)",
    )
    p.add_argument(
        "--hosted-zone-id",
        default=env("HOSTED_ZONE_ID") or None,
        help="the Route53 hosted zone id, e.g. Z0123456789ABC (env HOSTED_ZONE_ID; required "
        "without --trust)",
    )
    p.add_argument(
        "--zone",
        default=env("ROOT_DOMAIN") or None,
        help="limit changes to names under <environment>.<zone> (env ROOT_DOMAIN)",
    )
    p.add_argument(
        "--environment",
        default=env("RANCHER_ENVIRONMENT") or None,
        help="Rancher environment name, with --zone (env RANCHER_ENVIRONMENT)",
    )
    p.add_argument(
        "--repository",
        default=env("GITHUB_REPOSITORY") or None,
        help="with --trust: the GitHub repository, OWNER/NAME (env GITHUB_REPOSITORY)",
    )
    p.add_argument(
        "--aws-account-id",
        default=env("AWS_ACCOUNT_ID") or None,
        help="with --trust: the AWS account holding the OIDC provider (env AWS_ACCOUNT_ID)",
    )
    p.set_defaults(func=cmd_iam_policy)


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from ..iam import policy_json, trust_policy_json

    if args.trust:
        if not args.repository:
            raise ConfigError("no repository given: pass --repository or set GITHUB_REPOSITORY")
        if not args.aws_account_id:
            raise ConfigError("no AWS account given: pass --aws-account-id or set AWS_ACCOUNT_ID")
        sys.stdout.write(trust_policy_json(args.repository, args.aws_account_id, args.mode))
        return EXIT_OK
    if not args.hosted_zone_id:
        raise ConfigError("no hosted zone given: pass --hosted-zone-id or set HOSTED_ZONE_ID")
    sys.stdout.write(policy_json(args.hosted_zone_id, args.zone, args.environment, args.mode))
    return EXIT_OK


def add_bind_policy(sub: Any) -> None:
    p = sub.add_parser(
        "bind-policy",
        help="print the least-privilege BIND update-policy for octodns-sync over RFC 2136",
        description="Print the named.conf zone-statement lines that let a TSIG key transfer "
        "the zone (octoDNS reads it that way) and update only A/AAAA records and their TXT "
        "ownership markers strictly below <environment>.<zone>: BIND refuses any other "
        "name or type.",
    )
    log_flags(p)
    p.add_argument(
        "--zone",
        default=os.environ.get("ROOT_DOMAIN") or None,
        help="the DNS zone (env ROOT_DOMAIN)",
    )
    p.add_argument(
        "--environment",
        default=os.environ.get("RANCHER_ENVIRONMENT") or None,
        help="Rancher environment name (env RANCHER_ENVIRONMENT)",
    )
    p.add_argument(
        "--key-name",
        default=os.environ.get("RFC2136_TSIG_KEYNAME") or "octodns-rancher",
        help="the TSIG key octodns-sync signs with (env RFC2136_TSIG_KEYNAME; default %(default)s)",
    )
    p.set_defaults(func=cmd_bind_policy)


def cmd_bind_policy(args: argparse.Namespace) -> int:
    from ..update_policy import zone_statement

    if not args.zone:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    if not args.environment:
        raise ConfigError("no environment given: pass --environment or set RANCHER_ENVIRONMENT")
    sys.stdout.write(zone_statement(args.key_name, args.zone, args.environment))
    return EXIT_OK


def add_writeback(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser(
        "writeback",
        help="set each service's fqdn in Rancher after the records were applied",
        description="POST an externalDnsEvent (dns.update) per service to the Rancher API, as "
        "Rancher's external DNS service did, so Rancher shows each service's fqdn. Services "
        "come from the annotations in the zone file. Failures are retried and reported; the "
        "exit code stays 0 unless --strict. Keys only from CATTLE_ACCESS_KEY and "
        "CATTLE_SECRET_KEY (or the user-info of CATTLE_URL); without them it refuses to run "
        "unless --anonymous.",
    )
    log_flags(p)
    p.add_argument(
        "--cattle-url",
        default=env("CATTLE_URL") or None,
        help="Rancher API URL, e.g. http://rancher:8080/v1 (env CATTLE_URL); "
        "without it write-back is skipped",
    )
    p.add_argument(
        "--zone", default=env("ROOT_DOMAIN") or None, help="the DNS zone (env ROOT_DOMAIN)"
    )
    p.add_argument(
        "--zones-dir",
        type=Path,
        default=Path(env("ZONES_DIR") or "zones"),
        help="directory of zone files (env ZONES_DIR; default zones)",
    )
    p.add_argument(
        "--since",
        default=env("WRITEBACK_SINCE") or None,
        help="git revision: only services whose records were added or changed since then "
        "(env WRITEBACK_SINCE; default: every service in the zone)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=env("WRITEBACK_RETRIES") or 3,
        help="retries per event on 5xx or connection errors (env WRITEBACK_RETRIES; default 3)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=env("WRITEBACK_TIMEOUT") or 10.0,
        help="seconds per request (env WRITEBACK_TIMEOUT; default 10)",
    )
    p.add_argument(
        "--backoff",
        type=float,
        default=env("WRITEBACK_BACKOFF") or 0.5,
        help="seconds before the first retry, doubled each time (env WRITEBACK_BACKOFF; "
        "default 0.5)",
    )
    p.add_argument(
        "--deadline",
        type=float,
        default=env("WRITEBACK_DEADLINE") or DEFAULT_DEADLINE,
        help="seconds all events together may take, retries included (env "
        f"WRITEBACK_DEADLINE; default {DEFAULT_DEADLINE:g})",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        default=truthy(env("WRITEBACK_STRICT")),
        help="exit 2 if any event failed (env WRITEBACK_STRICT=1; default: report only)",
    )
    p.add_argument(
        "--anonymous",
        action="store_true",
        default=truthy(env("WRITEBACK_ANONYMOUS")),
        help="send the events without API keys, for a Rancher without access control "
        "(env WRITEBACK_ANONYMOUS=1; default: refuse to run without CATTLE_ACCESS_KEY and "
        "CATTLE_SECRET_KEY)",
    )
    p.set_defaults(func=cmd_writeback)


def cmd_writeback(args: argparse.Namespace) -> int:
    from ..pipeline import zone_path
    from ..writeback import (
        RancherApi,
        changed_names,
        read_zone,
        services_in_zone,
        write_back,
        zone_at_revision,
    )

    if not args.zone:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    if not args.cattle_url:
        log.warning("no CATTLE_URL: skipping the write-back of fqdns to Rancher")
        return EXIT_OK
    keys = _cattle_keys(args)
    path = zone_path(args.zones_dir, args.zone)
    text = read_zone(path)
    names = None
    if args.since:
        names = changed_names(zone_at_revision(path, args.since), text)
    targets = services_in_zone(text, args.zone, names)
    if not targets:
        log.info("%s: no service changed; nothing to write back", path)
        return EXIT_OK
    api = RancherApi(
        args.cattle_url,
        *keys,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        deadline=args.deadline,
    )
    try:
        report = write_back(api, targets)
    finally:
        api.close()
    if args.strict and not report.ok:
        raise PublishError(f"{report.line()} (--strict)")
    (log.info if report.ok else log.warning)("%s", report.line())
    return EXIT_OK


def _cattle_keys(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The API keys from the environment; refused when missing unless --anonymous.

    A Rancher with access control answers 401 to every event sent without keys, and a
    write-back reports failures without failing the run: a missing secret would go unnoticed
    for ever. A Rancher without access control accepts anyone, so that is an explicit choice.
    """
    access = os.environ.get("CATTLE_ACCESS_KEY") or None
    secret = os.environ.get("CATTLE_SECRET_KEY") or None
    if bool(access) != bool(secret):
        given, missing = (
            ("CATTLE_ACCESS_KEY", "CATTLE_SECRET_KEY")
            if access
            else ("CATTLE_SECRET_KEY", "CATTLE_ACCESS_KEY")
        )
        raise ConfigError(f"{given} is set but {missing} is not; set both")
    if not access and not urlsplit(args.cattle_url).username and not args.anonymous:
        raise ConfigError(
            "CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY are not set: Rancher would refuse every "
            "event (or take it from anyone); set both, or pass --anonymous "
            "(WRITEBACK_ANONYMOUS=1) for a Rancher without access control"
        )
    return access, secret


def add_migrate(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser(
        "migrate",
        help="preview the move from Rancher's external DNS service (changes nothing)",
        description="Plan the next octodns-sync with an octoDNS config rendered by init "
        "--environment-uuid, and print as Markdown, record by record, what it will adopt "
        "(listed in Rancher's state record), update, create, delete and leave alone, and why. "
        "Reads the provider with the same credentials as octodns-sync; writes nothing to it.",
    )
    log_flags(p)
    p.add_argument(
        "--config-file",
        type=Path,
        default=Path(env("OCTODNS_CONFIG_FILE") or "config/octodns.yaml"),
        help="the octoDNS config (env OCTODNS_CONFIG_FILE; default %(default)s)",
    )
    p.add_argument(
        "--zone",
        default=env("ROOT_DOMAIN") or None,
        help="the zone, when the config has several (env ROOT_DOMAIN)",
    )
    p.add_argument(
        "-o",
        "--output",
        default=env("MIGRATE_OUTPUT") or "-",
        help="file to write the Markdown to (env MIGRATE_OUTPUT; default - for stdout)",
    )
    p.set_defaults(func=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    from ..migrate import preview
    from ..publish import write_atomic

    if args.verbose < 1:
        # octoDNS logs every step of its planning at INFO under its own logger names; the
        # table says it all. Warnings and errors still show.
        logging.disable(logging.INFO)
    try:
        text = preview(args.config_file, args.zone).markdown()
    finally:
        logging.disable(logging.NOTSET)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(Path(args.output), text)
        log.info("wrote %s", args.output)
    return EXIT_OK
