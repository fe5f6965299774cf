"""How ``ZoneCache`` reads single record sets back from Route53 and from PowerDNS.

Each provider reads the record sets a plan changes with one small request each, through its
own client (so credentials, endpoints and timeouts are the configured ones), and encodes a
cached octoDNS record with its own encoder (what it would send for it), so that the two compare
without converting the answer back into octoDNS records. Anything unusual (an alias, a weighted
or dynamic record set, a name in two zones) compares unequal, which only costs a full read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from .zonecache import Key, ZoneCache


def _fqdn(zone: Any, name: str) -> str:
    return f"{name}.{zone.name}" if name else zone.name


class Route53Cache(ZoneCache):
    """Route53: ``ListResourceRecordSets`` from the record set's name and type, one item."""

    def forget(self) -> None:
        super().forget()
        # octodns-route53 keeps the listing (and the zone ids and health checks) for the
        # life of the provider: a full read must list again.
        self._r53_rrsets = {}
        self._r53_zones = None
        self._health_checks = None

    def read_back(self, zone: Any, keys: Iterable[Key]) -> dict[Key, Any] | None:
        from octodns_route53.provider import _octal_replace

        zone_id = self._get_zone_id(zone.name)
        if not zone_id:
            return None
        out: dict[Key, Any] = {}
        for name, rtype in keys:
            fqdn = _fqdn(zone, name)
            resp = self._conn.list_resource_record_sets(
                HostedZoneId=zone_id, StartRecordName=fqdn, StartRecordType=rtype, MaxItems="1"
            )
            for rrset in resp["ResourceRecordSets"]:
                if _octal_replace(rrset["Name"]).lower() == fqdn.lower() and rrset["Type"] == rtype:
                    out[(name, rtype)] = self._rrset_key(rrset)
        return out

    def encode(self, record: Any) -> Any:
        if record is None:
            return None
        if getattr(record, "dynamic", False) or record._type not in ("A", "AAAA", "TXT", "CNAME"):
            return ("unchecked", record.name, record._type)  # never equal: a full read decides
        zone_id = self._r53_zones.get(record.zone.name) if self._r53_zones else None
        mods = [r.mod("UPSERT", []) for r in self._gen_records(record, zone_id)]
        if len(mods) != 1:
            return ("unchecked", record.name, record._type)
        return self._rrset_key(mods[0]["ResourceRecordSet"])

    @staticmethod
    def _rrset_key(rrset: dict[str, Any]) -> Any:
        if "AliasTarget" in rrset or "SetIdentifier" in rrset:
            return ("unchecked", rrset.get("Name"), rrset.get("Type"))
        values = sorted(r["Value"] for r in rrset.get("ResourceRecords") or ())
        return (rrset.get("TTL"), tuple(values))


class PowerDnsCache(ZoneCache):
    """PowerDNS: one ``search-data`` request per name (every type at that name)."""

    def read_back(self, zone: Any, keys: Iterable[Key]) -> dict[Key, Any] | None:
        wanted = list(keys)
        out: dict[Key, Any] = {}
        for name in dict.fromkeys(n for n, _ in wanted):
            fqdn = _fqdn(zone, name)
            if "*" in fqdn:
                return None  # a wildcard would be a search pattern
            # PowerDNS searches for the name without its final dot.
            query = quote(fqdn.rstrip("."), safe="")
            resp = self._get(f"search-data?q={query}&max=1000&object_type=record")
            found: dict[str, tuple[int, list[str]]] = {}
            for item in resp.json():
                if item.get("name", "").lower() != fqdn.lower():
                    continue
                if item.get("zone", zone.name).lower() != zone.name.lower():
                    return None
                if item.get("disabled"):
                    return None
                ttl, values = found.setdefault(item["type"], (item["ttl"], []))
                values.append(item["content"])
            for n, rtype in wanted:
                if n == name and rtype in found:
                    ttl, values = found[rtype]
                    out[(n, rtype)] = (ttl, tuple(sorted(values)))
        return out

    def encode(self, record: Any) -> Any:
        if record is None:
            return None
        records, rtype = self._records_for(record)
        if rtype != record._type:
            return ("unchecked", record.name, record._type)
        return (record.ttl, tuple(sorted(r["content"] for r in records)))


def mixin_for(provider: Any) -> type | None:
    """The ``ZoneCache`` mixin for a provider instance, or None when it has none."""
    try:
        from octodns_route53 import Route53Provider
    except ImportError:  # pragma: no cover - installed with the package
        Route53Provider = None
    try:
        from octodns_powerdns import PowerDnsBaseProvider
    except ImportError:  # pragma: no cover
        PowerDnsBaseProvider = None
    if Route53Provider is not None and isinstance(provider, Route53Provider):
        return Route53Cache
    if PowerDnsBaseProvider is not None and isinstance(provider, PowerDnsBaseProvider):
        return PowerDnsCache
    return None
