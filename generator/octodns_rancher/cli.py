"""The ``octodns-rancher`` command: parses arguments and calls the pipeline, nothing more.

Exit codes: 0 success; 1 ``generate --check`` found that the zone file would change; 2 bad
usage, bad input or a failed run (nothing was written).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .errors import ConfigError, RancherDnsError
from .guards import DEFAULT_DELETE_PCENT_THRESHOLD, DEFAULT_MAX_DELETES
from .records import DEFAULT_TEMPLATE, DEFAULT_TTL

log = logging.getLogger("octodns_rancher")

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2

# Every option of `generate` has an environment variable; Rancher's own names where it had one.
ENV = {
    "metadata_url": "METADATA_URL",
    "metadata_file": "METADATA_FILE",
    "api_version": "METADATA_API_VERSION",
    "zone": "ROOT_DOMAIN",
    "environment": "RANCHER_ENVIRONMENT",
    "ttl": "TTL",
    "name_template": "NAME_TEMPLATE",
    "zones_dir": "ZONES_DIR",
    "format": "OUTPUT_FORMAT",
    "delete_pcent_threshold": "DELETE_PCENT_THRESHOLD",
    "max_deletes": "MAX_DELETES",
    "lock_wait": "LOCK_WAIT",
}
# The watch loop's timing: (flag, environment variable, default, type, help).
WATCH_NUMBERS = (
    ("--quiet-period", "QUIET_PERIOD", 2.0, float, "seconds of no change before regenerating"),
    ("--resync-interval", "RESYNC_INTERVAL", 600.0, float, "seconds between full resyncs"),
    ("--max-wait", "METADATA_MAX_WAIT", 60, int, "maxWait of the /version long-poll, 1-120 s"),
    ("--backoff-max", "BACKOFF_MAX", 60.0, float, "longest pause between retries, seconds"),
)
# Safety overrides: flag or environment only, never the config file (a run-by-run decision).
FORCE_ENV = "FORCE_REMOVALS"
DEFAULTS: dict[str, Any] = {
    "metadata_url": "http://rancher-metadata.rancher.internal",
    "metadata_file": None,
    "api_version": "2016-07-29",
    "zone": None,
    "environment": None,
    "ttl": DEFAULT_TTL,
    "name_template": DEFAULT_TEMPLATE,
    "zones_dir": "zones",
    "format": "octodns",
    "delete_pcent_threshold": DEFAULT_DELETE_PCENT_THRESHOLD,
    "max_deletes": DEFAULT_MAX_DELETES,
    "lock_wait": 0.0,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose - args.quiet, args.log_format or os.environ.get("LOG_FORMAT"))
    try:
        return int(args.func(args))
    except RancherDnsError as e:
        log.error("%s", e)
        return EXIT_ERROR
    except KeyboardInterrupt:
        log.error("interrupted; nothing was written")
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="octodns-rancher",
        description="Publish Rancher 1.x services in public DNS: rancher-metadata in, "
        "octoDNS zone YAML out, for review in git and `octodns-sync`.",
        epilog="Exit codes: 0 ok, 1 `generate --check` found changes, 2 error (nothing written).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _log_flags(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    _add_watch(sub)
    _add_snapshot(sub)
    _add_init(sub)
    _add_iam_policy(sub)
    _add_writeback(sub)
    return parser


def _log_flags(p: argparse.ArgumentParser) -> None:
    default = argparse.SUPPRESS if p.prog != "octodns-rancher" else 0
    p.add_argument("-v", "--verbose", action="count", default=default, help="more logging")
    p.add_argument("-q", "--quiet", action="count", default=default, help="less logging")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS if p.prog != "octodns-rancher" else None,
        help="text lines, or one JSON object per line (env LOG_FORMAT; default text)",
    )


def _metadata_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("metadata")
    g.add_argument(
        "--metadata-url",
        help=f"rancher-metadata base URL (env METADATA_URL; default {DEFAULTS['metadata_url']})",
        default=None,
    )
    g.add_argument(
        "--api-version",
        choices=("2016-07-29", "2015-12-19"),
        default=None,
        help=f"rancher-metadata API version (env METADATA_API_VERSION; default {DEFAULTS['api_version']})",
    )
    g.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")


def _add_generate(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="write zones/<zone>.yaml from rancher-metadata or a snapshot",
        description="Compute the desired records of one Rancher environment and write them as "
        "an octoDNS zone file. Only names under <environment>.<zone> are ever produced.",
    )
    _log_flags(p)
    p.add_argument(
        "--config",
        type=Path,
        help="YAML file with any of the options below "
        "(keys as the long flags, with _); flags and environment win over it",
    )
    _metadata_flags(p)
    p.add_argument(
        "--metadata-file",
        type=Path,
        default=None,
        help="read a snapshot file instead of the server (env METADATA_FILE)",
    )
    _records_flags(p)
    _output_flags(p, check=True)
    _safety_flags(p)
    _git_flags(p)
    p.set_defaults(func=cmd_generate)


def _add_watch(sub: Any) -> None:
    from .metrics import DEFAULT_LISTEN

    env = os.environ.get
    p = sub.add_parser(
        "watch",
        help="keep the zone file in step with rancher-metadata (long-poll), commit or apply",
        description="Long-poll rancher-metadata's /version; after a quiet period regenerate the "
        "zone file, and when it changed commit it (and push it with --push) for review, or with "
        "--apply run octoDNS's sync itself. A full resync runs every --resync-interval even "
        "without events. Serves /healthz and /metrics. SIGTERM/SIGINT stop it between steps. "
        "See docs/deploy.md.",
    )
    _log_flags(p)
    p.add_argument(
        "--config",
        type=Path,
        help="YAML file with any of the generate options "
        "(keys as the long flags, with _); flags and environment win over it",
    )
    _metadata_flags(p)
    _records_flags(p)
    _output_flags(p, check=False)
    _safety_flags(p)
    _git_flags(p)
    g = p.add_argument_group("watch")
    g.add_argument(
        "--mode",
        choices=("gitops", "apply"),
        default=env("WATCH_MODE") or "gitops",
        help="gitops: commit the zone file (and push with --push) for review; apply: run "
        "octoDNS's sync in-process, no review (env WATCH_MODE; default gitops)",
    )
    g.add_argument(
        "--apply",
        dest="mode",
        action="store_const",
        const="apply",
        help="the same as --mode apply",
    )
    g.add_argument(
        "--octodns-config",
        type=Path,
        default=Path(env("OCTODNS_CONFIG") or "config/octodns.yaml"),
        help="octoDNS config for --apply (env OCTODNS_CONFIG; default config/octodns.yaml)",
    )
    g.add_argument(
        "--repository",
        default=env("GIT_REPOSITORY") or None,
        help="git URL to clone into the current directory when it is not a checkout yet "
        "(env GIT_REPOSITORY)",
    )
    for flag, var, default, kind, what in WATCH_NUMBERS:
        g.add_argument(
            flag,
            type=kind,
            default=None,
            help=f"{what} (env {var}; default {default:g})",
        )
    g.add_argument(
        "--listen",
        default=env("LISTEN_ADDRESS") or DEFAULT_LISTEN,
        help="address of /healthz and /metrics, HOST:PORT, or off "
        f"(env LISTEN_ADDRESS; default {DEFAULT_LISTEN})",
    )
    p.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    from .metrics import Metrics, MetricsServer
    from .watch import ApplyPublisher, GitPublisher, Watcher, WatchSettings, ensure_checkout

    if args.mode not in ("gitops", "apply"):
        raise ConfigError(f"invalid WATCH_MODE {args.mode!r}: expected gitops or apply")
    if args.repository:
        ensure_checkout(args.repository, Path.cwd(), args.branch)
    opts = _options(args)
    timing = {
        flag[2:].replace("-", "_"): _number(args, flag, var, default, kind)
        for flag, var, default, kind, _ in WATCH_NUMBERS
    }
    settings = WatchSettings(**timing, backoff_min=min(1.0, timing["backoff_max"]))
    if args.mode == "apply":
        publisher: Any = ApplyPublisher(args.octodns_config, opts.zone)
    else:
        publisher = GitPublisher(
            opts.zones_dir, push=args.push, remote=args.remote, branch=args.branch
        )
    metrics = Metrics()
    server = None
    if args.listen.strip().lower() not in ("off", "none", ""):
        server = MetricsServer(metrics, args.listen).start()
    try:
        return Watcher(opts, settings, publisher, metrics).run()
    finally:
        if server is not None:
            server.stop()


def _number(args: argparse.Namespace, flag: str, var: str, default: float, kind: type) -> Any:
    """A watch timing: the flag, else its environment variable, else the default."""
    value = getattr(args, flag[2:].replace("-", "_"))
    if value is not None:
        return value
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"invalid {var} {raw!r}: expected a number of seconds") from None


def _records_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("records")
    g.add_argument(
        "--zone", default=None, help="the DNS zone, e.g. example.com (env ROOT_DOMAIN; required)"
    )
    g.add_argument(
        "--environment",
        default=None,
        help="environment name (env RANCHER_ENVIRONMENT; default: from /self/stack)",
    )
    g.add_argument(
        "--ttl",
        type=int,
        default=None,
        help=f"record TTL in seconds (env TTL; default {DEFAULT_TTL})",
    )
    g.add_argument(
        "--name-template",
        default=None,
        help="record name template (env NAME_TEMPLATE; default %%{{service_name}}."
        "%%{{stack_name}}.%%{{environment_name}})",
    )


def _output_flags(p: argparse.ArgumentParser, check: bool) -> None:
    g = p.add_argument_group("output")
    g.add_argument(
        "--zones-dir",
        type=Path,
        default=None,
        help="directory of zone files (env ZONES_DIR; default zones)",
    )
    g.add_argument(
        "--format",
        choices=("octodns", "terraform", "all"),
        default=None,
        help="what to write: the octoDNS zone file <zone>.yaml, the same records as Terraform "
        "aws_route53_record resources in <zone>.tf.json, or both (env OUTPUT_FORMAT; "
        "default octodns)",
    )
    if check:
        g.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 if the zone file would change (for CI)",
        )
    g.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow metadata without services or hosts to empty a zone with records",
    )


def _git_flags(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    g = p.add_argument_group("git (see README: GitOps workflow)")
    g.add_argument(
        "--commit",
        action="store_true",
        default=_truthy(env("ZONES_COMMIT")),
        help="commit the zone files (and nothing else) when they changed (env ZONES_COMMIT=1)",
    )
    g.add_argument(
        "--push",
        action="store_true",
        default=_truthy(env("ZONES_PUSH")),
        help="push the commit; on a race, regenerate on the remote tip and retry "
        "(implies --commit; env ZONES_PUSH=1)",
    )
    g.add_argument(
        "--remote",
        default=env("ZONES_GIT_REMOTE") or "origin",
        help="remote to push to (env ZONES_GIT_REMOTE; default origin)",
    )
    g.add_argument(
        "--branch",
        default=env("ZONES_GIT_BRANCH") or None,
        help="branch to push to (env ZONES_GIT_BRANCH; default: the current branch)",
    )


def _safety_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("safety (see docs/safety.md)")
    g.add_argument(
        "--force",
        action="store_true",
        default=None,
        help=f"write even if more records would be removed than the thresholds allow "
        f"(env {FORCE_ENV}=1)",
    )
    g.add_argument(
        "--delete-pcent-threshold",
        type=float,
        default=None,
        help="refuse to remove more than this fraction of the zone's records in one run, "
        "with at least 10 records, as octoDNS does (env DELETE_PCENT_THRESHOLD; default "
        f"{DEFAULT_DELETE_PCENT_THRESHOLD})",
    )
    g.add_argument(
        "--max-deletes",
        type=int,
        default=None,
        help="refuse to remove more than this many records in one run, 0 for no limit "
        f"(env MAX_DELETES; default {DEFAULT_MAX_DELETES})",
    )
    g.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        help="seconds to wait for another run's lock on the zones directory before giving up "
        "(env LOCK_WAIT; default 0: fail at once)",
    )


def _add_snapshot(sub: Any) -> None:
    p = sub.add_parser(
        "snapshot",
        help="save rancher-metadata's answers to a JSON file for offline runs",
        description="Read /self/stack, /services and /hosts once and save them in one JSON "
        "file that `generate --metadata-file` reads.",
    )
    _log_flags(p)
    _metadata_flags(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    p.set_defaults(func=cmd_snapshot)


def _add_init(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="write an octoDNS config for a zone, environment and provider",
        description="Render config/octodns.yaml: the zone files as source, the provider as "
        "target, and a filter that keeps octoDNS inside <environment>.<zone>.",
    )
    _log_flags(p)
    p.add_argument("--zone", default=os.environ.get("ROOT_DOMAIN"), help="e.g. example.com")
    p.add_argument("--environment", required=True, help="Rancher environment name")
    p.add_argument(
        "--provider",
        choices=("route53", "powerdns", "yaml"),
        default="route53",
        help="octoDNS target (default %(default)s)",
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
        "-o",
        "--output",
        type=Path,
        default=Path("config/octodns.yaml"),
        help="file to write (default %(default)s; - for stdout)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)


def cmd_generate(args: argparse.Namespace) -> int:
    from .pipeline import generate

    opts = _options(args)
    repo = _git_repo(args, opts)
    result = generate(opts, write=not args.check)
    s = result.summary
    files = result.files or {result.path: result.text}
    log.info(
        "%s: %d record(s) for environment %s; %s",
        ", ".join(str(p) for p in files),
        len(result.records),
        result.environment,
        s.counts(),
    )
    for line in s.lines():
        log.info("%s", line)
    if args.check:
        stale = result.changed_files
        for path in stale:
            log.warning("%s is out of date (run without --check to update it)", path)
        if stale:
            return EXIT_CHANGES
        for path in files:
            log.info("%s is up to date", path)
        return EXIT_OK
    for path in files:
        if path in result.written_files:
            log.info("wrote %s", path)
        else:
            log.info("%s unchanged; not written", path)
    if repo is not None:
        _commit(args, opts, result, repo)
    return EXIT_OK


def _options(args: argparse.Namespace) -> Any:
    """The pipeline's Options from flags, environment and config file (generate and watch)."""
    from .guards import Thresholds
    from .pipeline import Options, formats

    values = _resolve(args, _url_beats_config_file(args, _load_config(args.config)))
    if not values["zone"]:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    return Options(
        zone=values["zone"],
        environment=values["environment"] or None,
        ttl=values["ttl"],
        name_template=values["name_template"],
        zones_dir=Path(values["zones_dir"]),
        formats=formats(values["format"]),
        metadata_url=values["metadata_url"],
        metadata_file=Path(values["metadata_file"]) if values["metadata_file"] else None,
        api_version=values["api_version"],
        timeout=args.timeout,
        allow_empty=args.allow_empty,
        force=_force(args),
        thresholds=Thresholds(
            delete_pcent_threshold=values["delete_pcent_threshold"],
            max_deletes=values["max_deletes"],
        ),
        lock_wait=values["lock_wait"],
    )


def _git_repo(args: argparse.Namespace, opts: Any) -> Any:
    """The repository holding the zones directory, checked before anything is written."""
    if not (args.commit or args.push):
        return None
    if args.check:
        raise ConfigError("--check writes nothing; it cannot be combined with --commit/--push")
    from .gitrepo import GitRepo
    from .pipeline import zone_path

    repo = GitRepo.discover(opts.zones_dir)
    repo.relative(zone_path(opts.zones_dir, opts.zone))
    return repo


def _commit(args: argparse.Namespace, opts: Any, result: Any, repo: Any) -> None:
    """Commit (and push) the generated files; a push race regenerates on the remote tip."""
    from .gitrepo import commit_and_push
    from .pipeline import generate

    paths = list(result.files or {result.path: result.text})
    outcome = commit_and_push(
        repo,
        paths,
        zone=opts.zone,
        summary=result.summary,
        regenerate=lambda: generate(opts).summary,
        push=args.push,
        remote=args.remote,
        branch=args.branch,
    )
    if outcome.sha:
        log.info("commit %s: %s", outcome.sha[:12], outcome.message.splitlines()[0])
    else:
        log.info("zone files unchanged; no commit")
    if outcome.pushed:
        log.info("pushed to %s after %d attempt(s)", args.remote, outcome.attempts)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from .source import MetadataClient, save_snapshot

    values = _resolve(args, {})
    client = MetadataClient(values["metadata_url"], values["api_version"], timeout=args.timeout)
    snap = client.fetch()
    save_snapshot(snap, args.output)
    log.info(
        "saved %d service(s) and %d host(s) from %s to %s in %d requests",
        len(snap.services),
        len(snap.hosts),
        client.base,
        args.output,
        snap.requests,
    )
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from .config import render_octodns_config
    from .publish import write_atomic

    if not args.zone:
        raise ConfigError("no zone given: pass --zone or set ROOT_DOMAIN")
    text = render_octodns_config(
        zone=args.zone,
        environment=args.environment,
        provider=args.provider,
        zones_dir=args.zones_dir,
        policy=args.policy,
        owner_id=args.owner_id,
    )
    if str(args.output) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    if args.output.exists() and not args.force:
        raise ConfigError(f"{args.output} exists; pass --force to overwrite it")
    write_atomic(args.output, text)
    log.info("wrote %s", args.output)
    return EXIT_OK


def _add_iam_policy(sub: Any) -> None:
    p = sub.add_parser(
        "iam-policy",
        help="print the least-privilege AWS IAM policy for octodns-sync to Route53",
        description="Print the IAM policy JSON that lets octodns-sync plan and apply this "
        "zone in Route53 and nothing more: read calls as needed, and "
        "route53:ChangeResourceRecordSets only on the one hosted zone. With --zone and "
        "--environment, changes are also limited to A/AAAA records and their TXT "
        "ownership markers under <environment>.<zone>.",
    )
    _log_flags(p)
    p.add_argument(
        "--hosted-zone-id",
        default=os.environ.get("HOSTED_ZONE_ID") or None,
        help="the Route53 hosted zone id, e.g. Z0123456789ABC (env HOSTED_ZONE_ID; required)",
    )
    p.add_argument(
        "--zone",
        default=os.environ.get("ROOT_DOMAIN") or None,
        help="limit changes to names under <environment>.<zone> (env ROOT_DOMAIN)",
    )
    p.add_argument(
        "--environment",
        default=os.environ.get("RANCHER_ENVIRONMENT") or None,
        help="Rancher environment name, with --zone (env RANCHER_ENVIRONMENT)",
    )
    p.set_defaults(func=cmd_iam_policy)


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from .iam import policy_json

    if not args.hosted_zone_id:
        raise ConfigError("no hosted zone given: pass --hosted-zone-id or set HOSTED_ZONE_ID")
    sys.stdout.write(policy_json(args.hosted_zone_id, args.zone, args.environment))
    return EXIT_OK


def _force(args: argparse.Namespace) -> bool:
    if args.force:
        return True
    raw = os.environ.get(FORCE_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"invalid {FORCE_ENV} {raw!r}: expected 1/true/yes or 0/false/no")


def _add_writeback(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser(
        "writeback",
        help="set each service's fqdn in Rancher after the records were applied",
        description="POST an externalDnsEvent (dns.update) per service to the Rancher API, as "
        "Rancher's external DNS service did, so Rancher shows each service's fqdn. Services "
        "come from the annotations in the zone file. Failures are retried and reported; the "
        "exit code stays 0 unless --strict. Keys only from CATTLE_ACCESS_KEY and "
        "CATTLE_SECRET_KEY.",
    )
    _log_flags(p)
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
        "--strict",
        action="store_true",
        default=_truthy(env("WRITEBACK_STRICT")),
        help="exit 1 if any event failed (env WRITEBACK_STRICT=1; default: report only)",
    )
    p.set_defaults(func=cmd_writeback)


def cmd_writeback(args: argparse.Namespace) -> int:
    from .pipeline import zone_path
    from .writeback import (
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
        os.environ.get("CATTLE_ACCESS_KEY"),
        os.environ.get("CATTLE_SECRET_KEY"),
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
    )
    try:
        report = write_back(api, targets)
    finally:
        api.close()
    for line in report.lines():
        (log.info if report.ok else log.warning)("%s", line)
    return EXIT_CHANGES if (args.strict and not report.ok) else EXIT_OK


def _url_beats_config_file(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """A metadata URL from a flag or the environment overrides the config file's snapshot file."""
    url = getattr(args, "metadata_url", None) or _env("metadata_url")
    file = getattr(args, "metadata_file", None) or _env("metadata_file")
    if url and not file and config.get("metadata_file"):
        return {k: v for k, v in config.items() if k != "metadata_file"}
    return config


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _env(key: str) -> Any:
    raw = os.environ.get(ENV[key], "")
    return raw if raw != "" else None


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of option: value")
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"config {path}: unknown option(s) {', '.join(unknown)}")
    if data.get("metadata_file"):
        # Relative paths in a config file are relative to the file, not the working directory.
        data["metadata_file"] = str((path.parent / str(data["metadata_file"])).resolve())
    return data


def _resolve(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """Flag, else environment variable, else the config file, else the default."""
    out = {}
    for key, default in DEFAULTS.items():
        value = getattr(args, key, None)
        if value is None:
            value = _env(key)
        if value is None:
            value = config.get(key, default)
        out[key] = value
    try:
        out["ttl"] = int(out["ttl"])
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid TTL {out['ttl']!r}: expected a whole number of seconds") from e
    for key, kind, what in (
        ("delete_pcent_threshold", float, "a fraction such as 0.3"),
        ("max_deletes", int, "a whole number of records"),
        ("lock_wait", float, "a number of seconds"),
    ):
        try:
            out[key] = kind(out[key])
        except (TypeError, ValueError) as e:
            raise ConfigError(f"invalid {key} {out[key]!r}: expected {what}") from e
    return out


def _setup_logging(level: int, fmt: str | None = None) -> None:
    from . import logs

    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}
    wanted = (fmt or "text").strip().lower()
    logs.setup(levels[max(-2, min(1, level))], wanted if wanted in logs.FORMATS else "text")
    if wanted not in logs.FORMATS:
        log.warning("unknown log format %r; using text (%s)", fmt, ", ".join(logs.FORMATS))
    if level < 1:
        # octoDNS is chatty at INFO; its warnings still show.
        logging.getLogger("octodns").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
