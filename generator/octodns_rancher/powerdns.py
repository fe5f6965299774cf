"""octodns-powerdns's provider, sending changes in requests that fit PowerDNS's body limit.

PowerDNS's HTTP API refuses a request body larger than ``webserver-max-bodysize`` (2 MB by
default, https://doc.powerdns.com/authoritative/settings.html#webserver-max-bodysize) with
``400 Bad Request``. octodns-powerdns sends a whole plan as one ``PATCH`` of every record set
(and, for a zone that does not exist yet, one ``POST`` of the zone with all of them): the
initial sync of about 4,000 records with ownership markers is already larger than that, and
fails whole. This provider keeps everything octodns-powerdns does (the same record sets, in the
same order, DELETEs before REPLACEs, the same zone creation) and only decides where one request
ends: record sets are taken in order into a request for as long as its JSON body stays within
``max_request_bytes``; a record set is never split, and one that alone is larger fails before
anything is sent, naming it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from octodns_powerdns import PowerDnsProvider as _UpstreamPowerDnsProvider
from octodns_powerdns import _encode_zone_name

#: PowerDNS's default ``webserver-max-bodysize`` (2 MB, in bytes).
POWERDNS_DEFAULT_MAX_BODY = 2 * 1024 * 1024
#: The default limit per request: room below PowerDNS's default for headers and rounding.
DEFAULT_MAX_REQUEST_BYTES = 1_500_000
# The smallest limit accepted: a request must hold at least a few ordinary record sets.
MIN_REQUEST_BYTES = 4096

RRSet = dict[str, Any]


class RequestTooLarge(Exception):
    """One record set alone is larger than a request may be."""


def _dumps(data: Any) -> str:
    # What requests sends for ``json=data`` (requests.models.PreparedRequest.prepare_body).
    return json.dumps(data, allow_nan=False)


def body_size(rrsets: Sequence[RRSet]) -> int:
    """Bytes of the JSON body ``{"rrsets": [...]}`` as requests serialises it."""
    return len(_dumps({"rrsets": list(rrsets)}).encode())


# ``{"rrsets": []}`` and the ", " between two record sets, as json.dumps writes them.
_ENVELOPE = body_size([])
_SEPARATOR = len(", ")


def split(
    rrsets: Sequence[RRSet], max_bytes: int = DEFAULT_MAX_REQUEST_BYTES, envelope: int = _ENVELOPE
) -> list[list[RRSet]]:
    """Record sets in order, in the fewest consecutive requests whose bodies fit ``max_bytes``.

    ``envelope`` is the size of the body without any record set (more than ``{"rrsets": []}``
    when the zone is created with the same request).
    """
    requests: list[list[RRSet]] = []
    request: list[RRSet] = []
    size = envelope
    for rrset in rrsets:
        own = len(_dumps(rrset).encode())
        if envelope + own > max_bytes:
            raise RequestTooLarge(
                f"{rrset.get('name')} {rrset.get('type')}: one record set takes {own} bytes of "
                f"JSON, more than one PowerDNS request may hold ({max_bytes} bytes with "
                "max_request_bytes; PowerDNS's webserver-max-bodysize must allow it too)"
            )
        extra = own + (_SEPARATOR if request else 0)
        if request and size + extra > max_bytes:
            requests.append(request)
            request, size, extra = [], envelope, own
        request.append(rrset)
        size += extra
    if request:
        requests.append(request)
    return requests


class PowerDnsProvider(_UpstreamPowerDnsProvider):
    """``octodns_powerdns.PowerDnsProvider`` whose requests fit PowerDNS's body limit.

    ``max_request_bytes`` (default 1,500,000) is the largest JSON body one request may have;
    keep it below the server's ``webserver-max-bodysize`` (2 MB unless configured). Every other
    option is octodns-powerdns's.
    """

    def __init__(
        self,
        id: str,
        *args: Any,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        **kwargs: Any,
    ) -> None:
        text = max_request_bytes.strip() if isinstance(max_request_bytes, str) else ""
        if text.isascii() and text.isdigit():
            max_request_bytes = int(max_request_bytes)  # from octoDNS's env/NAME
        if (
            not isinstance(max_request_bytes, int)
            or isinstance(max_request_bytes, bool)
            or max_request_bytes < MIN_REQUEST_BYTES
        ):
            raise ValueError(
                f"{id}: max_request_bytes must be a whole number of at least "
                f"{MIN_REQUEST_BYTES}, got {max_request_bytes!r}"
            )
        super().__init__(id, *args, **kwargs)
        self.max_request_bytes = max_request_bytes
        self.log = logging.getLogger(f"{self.__class__.__name__}[{id}]")

    # Upstream's _apply sends all record sets of a plan through one _patch (or, when the zone
    # does not exist, one _post of the zone); both are split here, in the order upstream chose.
    def _patch(self, path: str, data: Any = None) -> Any:
        rrsets = (data or {}).get("rrsets") if isinstance(data, dict) else None
        if not rrsets or set(data) != {"rrsets"}:
            return super()._patch(path, data=data)
        requests = split(rrsets, self.max_request_bytes)
        resp = None
        for number, request in enumerate(requests, 1):
            self._log_request("PATCH", number, requests, request)
            resp = super()._patch(path, data={"rrsets": request})
        return resp

    def _post(self, path: str, data: Any = None) -> Any:
        rrsets = data.get("rrsets") if isinstance(data, dict) else None
        if path != "zones" or not rrsets:
            return super()._post(path, data=data)
        envelope = len(_dumps({**data, "rrsets": []}).encode())
        requests = split(rrsets, self.max_request_bytes, envelope)
        # The zone is created with the first request's record sets, the rest are added to it.
        self._log_request("POST", 1, requests, requests[0])
        resp = super()._post(path, data={**data, "rrsets": requests[0]})
        if len(requests) > 1:
            zone_path = f"zones/{_encode_zone_name(data['name'])}"
            for number, request in enumerate(requests[1:], 2):
                self._log_request("PATCH", number, requests, request)
                super()._patch(zone_path, data={"rrsets": request})
        return resp

    def _log_request(
        self, method: str, number: int, requests: list[list[RRSet]], request: list[RRSet]
    ) -> None:
        self.log.info(
            "%s request %d of %d: %d record sets, %d bytes",
            method,
            number,
            len(requests),
            len(request),
            body_size(request),
        )
