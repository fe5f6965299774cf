"""How ``ZoneCache`` reads single record sets back from Route53, PowerDNS and RFC 2136 servers.

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


class Rfc2136Cache(ZoneCache):
    """RFC 2136 (BIND): one DNS query per record set, over TCP, to the primary the updates go
    to, signed with the provider's TSIG key when it has one.

    A full read is a zone transfer of every record; a query asks for one record set. Values
    compare in DNS presentation format, as dnspython writes them, on both sides.
    """

    def read_back(self, zone: Any, keys: Iterable[Key]) -> dict[Key, Any] | None:
        import dns.flags
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype

        # The key as the zone transfers and the updates use it (octodns-bind's own helper).
        keyring = self._auth_params().get("keyring")
        out: dict[Key, Any] = {}
        for name, rtype in keys:
            fqdn = _fqdn(zone, name)
            rdtype = dns.rdatatype.from_text(rtype)
            query = dns.message.make_query(fqdn, rdtype, dns.rdataclass.IN)
            query.flags &= ~dns.flags.RD
            if keyring is not None:
                query.use_tsig(keyring, keyname=self.key_name, algorithm=self._algorithm)
            answer = dns.query.tcp(query, self.host, port=int(self.port), timeout=self.timeout)
            rcode = answer.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                continue
            if rcode != dns.rcode.NOERROR or not answer.flags & dns.flags.AA:
                return None  # not this zone's primary answering for it: read the whole zone
            for rrset in answer.answer:
                if rrset.name.to_text().lower() == fqdn.lower() and rrset.rdtype == rdtype:
                    out[(name, rtype)] = (rrset.ttl, tuple(sorted(r.to_text() for r in rrset)))
        return out

    def encode(self, record: Any) -> Any:
        if record is None:
            return None
        import dns.rdata
        import dns.rdataclass

        from .rfc2136 import _rrset

        _, ttl, rtype, values = _rrset(record)
        try:
            texts = [dns.rdata.from_text(dns.rdataclass.IN, rtype, v).to_text() for v in values]
        except Exception:  # a value dnspython cannot read: never equal, a full read decides
            return ("unchecked", record.name, record._type)
        return (ttl, tuple(sorted(texts)))


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
    from .rfc2136 import Rfc2136Provider

    if isinstance(provider, Rfc2136Provider):
        return Rfc2136Cache
    return None
