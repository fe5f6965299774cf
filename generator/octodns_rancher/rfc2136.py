"""octodns-bind's RFC 2136 provider, with update messages sized to fit and errors that say why.

octodns-bind's ``Rfc2136Provider`` reads a zone by transfer (AXFR) and writes it with dynamic
updates (RFC 2136), both signed with a TSIG key: BIND, Knot and Windows DNS speak it, and
Rancher's external DNS service shipped a provider for it. This subclass keeps its options,
transfers and update operations, and changes two things:

- **Message size.** Upstream puts a fixed number of changes (``update_batch_size``, 1000) in
  each update message. A DNS message over TCP holds at most 65,535 bytes, and 1000 changes of
  records with a few values each (every host of an environment) do not fit: dnspython refuses
  to send the message, after the earlier messages of the same sync were applied. Here each
  message is filled up to ``max_message_bytes`` counted on the wire (TSIG included), every
  change whole inside one message (each message is applied atomically by the server), in
  plan order. A change too large for any message fails before anything is sent.
- **Errors.** A key the server does not know, a wrong secret, a refused transfer or update, a
  server that does not answer: one ERROR line naming the server, the zone, the key and what
  to check, instead of dnspython's "The peer didn't like the signature we sent".
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Iterator

import dns.exception
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.xfr
from dns.update import UpdateMessage
from octodns.record import Create, Update
from octodns_bind import AxfrSourceZoneTransferFailed
from octodns_bind import Rfc2136Provider as _UpstreamProvider

MAX_MESSAGE = 65535  # a DNS message over TCP: two length bytes
MIN_MESSAGE = 512
DEFAULT_ALGORITHM = "hmac-sha256"  # dnspython's default, and BIND's tsig-keygen's


class Rfc2136Error(Exception):
    """The server refused us, or could not be reached; the message says what to check."""


class Rfc2136Provider(_UpstreamProvider):
    """``octodns_bind.Rfc2136Provider`` with size-filled update messages and clear errors.

    Options are upstream's (``host``, ``port``, ``timeout``, ``key_name``, ``key_secret``,
    ``key_algorithm``), plus ``max_message_bytes`` (default and most 65,535). Upstream's
    ``update_batch_size``, when given, still caps the changes per message.
    """

    def __init__(
        self,
        id: str,
        *args,
        max_message_bytes: int | str = MAX_MESSAGE,
        update_batch_size: int | str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(id, *args, **kwargs)
        self.log = logging.getLogger(f"{self.__class__.__name__}[{id}]")
        # octoDNS's env/NAME turns digits into numbers; a key name or secret is text.
        for attr in ("key_name", "key_secret", "key_algorithm"):
            if getattr(self, attr) is not None:
                setattr(self, attr, str(getattr(self, attr)))
        self.max_message_bytes = int(max_message_bytes)
        if not MIN_MESSAGE <= self.max_message_bytes <= MAX_MESSAGE:
            raise self._fail(
                f"max_message_bytes must be {MIN_MESSAGE}-{MAX_MESSAGE}, "
                f"got {self.max_message_bytes}"
            )
        self.update_batch_size = int(update_batch_size) if update_batch_size else None
        self._check_key()

    @property
    def _who(self) -> str:
        return f"{self.__class__.__name__}[{self.id}]"

    # -- the key ---------------------------------------------------------------------------
    def _check_key(self) -> None:
        """A key that cannot sign anything fails when the config is loaded, not mid-sync."""
        if self.key_name is None and self.key_secret is None:
            return
        if not self.key_name or not self.key_secret:
            raise self._fail(
                "give both a TSIG key name and its secret "
                "(RFC2136_TSIG_KEYNAME and RFC2136_TSIG_SECRET in the rendered config)"
            )
        try:
            dns.tsigkeyring.from_text({self.key_name: self.key_secret})
        except (binascii.Error, ValueError, dns.exception.DNSException) as e:
            raise self._fail(
                f"the secret of TSIG key {self.key_name!r} is not valid base64 "
                f"({e}); use the secret from the key statement, as tsig-keygen prints it"
            ) from None
        try:
            dns.tsig.get_context(dns.tsig.Key(self.key_name, self.key_secret, self._algorithm))
        except (NotImplementedError, KeyError, dns.exception.DNSException):
            raise self._fail(
                f"unknown TSIG algorithm {self._algorithm!r}; use one of "
                "hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5"
            ) from None

    @property
    def _algorithm(self) -> str:
        return str(self.key_algorithm or DEFAULT_ALGORITHM)

    def _key_text(self) -> str:
        return f"TSIG key {self.key_name!r} ({self._algorithm})" if self.key_name else "no key"

    def _explain(self, err: BaseException | None, action: str) -> str:
        """What went wrong, in the operator's terms."""
        if isinstance(err, dns.tsig.PeerBadKey):
            return (
                f"the server does not know the {self._key_text()} (BADKEY): the key name and "
                "algorithm must match a key statement in named.conf (RFC2136_TSIG_KEYNAME, "
                "RFC2136_TSIG_ALGORITHM)"
            )
        if isinstance(err, dns.tsig.PeerBadSignature):
            return (
                f"the server rejected the signature of the {self._key_text()} (BADSIG): the "
                "secret is not the key's (RFC2136_TSIG_SECRET)"
            )
        if isinstance(err, dns.tsig.PeerBadTime):
            return (
                "the server rejected the signature's time (BADTIME): this machine's clock "
                "and the server's differ by more than the allowed 5 minutes"
            )
        if isinstance(err, dns.xfr.TransferError):
            rcode = dns.rcode.to_text(err.rcode)
            if not self.key_name:
                return f"the server refused the {action} ({rcode}) to a request without a key"
            return (
                f"the server refused the {action} ({rcode}) to the {self._key_text()}: the "
                f"zone's allow-transfer must name key {self.key_name}"
            )
        if isinstance(err, dns.exception.Timeout):
            return f"no answer within {self.timeout:g} s"
        if isinstance(err, OSError):
            return err.strerror or str(err)
        return str(err) or type(err).__name__

    def _fail(self, message: str) -> Rfc2136Error:
        self.log.error("%s", message)
        return Rfc2136Error(f"{self._who}: {message}")

    # -- reading ---------------------------------------------------------------------------
    def zone_records(self, zone, target):
        try:
            return super().zone_records(zone, target)
        except AxfrSourceZoneTransferFailed as e:
            err = e.__context__ or e
        except OSError as e:
            err = e
        raise self._fail(
            f"zone transfer of {zone.name} from {self.host}:{self.port} failed: "
            + self._explain(err, "zone transfer")
        ) from None

    # -- writing ---------------------------------------------------------------------------
    def _apply(self, plan) -> bool:
        zone = plan.desired.name
        messages = list(self._messages(zone, plan.changes))
        for i, (update, changes) in enumerate(messages, 1):
            where = f"update {i} of {len(messages)} to {zone} at {self.host}:{self.port}"
            self.log.info("%s: %d change(s)", where, len(changes))
            try:
                answer = dns.query.tcp(update, self.host, port=self.port, timeout=self.timeout)
            except (dns.exception.DNSException, OSError) as e:
                raise self._fail(
                    f"{where} failed: {self._explain(e, 'update')}{_applied(i)}"
                ) from None
            rcode = answer.rcode()
            if rcode != dns.rcode.NOERROR:
                raise self._fail(
                    f"{where} was refused ({dns.rcode.to_text(rcode)}) for "
                    f"{_names(changes)}: {self._refusal(rcode)}{_applied(i)}"
                )
        return True

    def _refusal(self, rcode: int) -> str:
        if rcode == dns.rcode.REFUSED:
            return (
                f"the zone's update-policy does not let the {self._key_text()} write these "
                "names and types (`octodns-rancher bind-policy` prints the grant)"
            )
        if rcode == dns.rcode.NOTAUTH:
            return f"the server is not authoritative for the zone, or the {self._key_text()} was not accepted"
        return "see the server's log"

    def _messages(self, zone: str, changes) -> Iterator[tuple[UpdateMessage, list]]:
        """Update messages holding whole changes, each at most ``max_message_bytes``."""
        auth = self._auth_params()
        empty = len(UpdateMessage(zone, **auth).to_wire())
        budget = self.max_message_bytes - empty
        bare = len(UpdateMessage(zone).to_wire())
        update, batch, used = UpdateMessage(zone, **auth), [], 0
        for change in changes:
            size = _change_size(zone, change, bare)
            if size > budget:
                raise self._fail(
                    f"{change.record.fqdn} {change.record._type} needs {size} bytes, more than "
                    f"an update message holds ({budget} of {self.max_message_bytes}); "
                    "nothing was sent"
                )
            full = self.update_batch_size and len(batch) >= self.update_batch_size
            if batch and (used + size > budget or full):
                yield update, batch
                update, batch, used = UpdateMessage(zone, **auth), [], 0
            _add(update, change)
            batch.append(change)
            used += size
        if batch:
            yield update, batch


def _add(update: UpdateMessage, change) -> None:
    """The change's operations, as upstream writes them."""
    name, ttl, rtype, rdatas = change.record.rrs
    if isinstance(change, Create):
        update.add(name, ttl, rtype, *rdatas)
    elif isinstance(change, Update):
        update.replace(name, ttl, rtype, *rdatas)
    else:
        update.delete(name, rtype, *rdatas)


def _change_size(zone: str, change, bare: int) -> int:
    """The bytes a change adds to a message (``bare``: an empty message's): measured alone,
    without name compression against the rest of the message, so never less than what it
    adds to a shared message."""
    alone = UpdateMessage(zone)
    _add(alone, change)
    return len(alone.to_wire()) - bare


def _names(changes) -> str:
    names = [f"{c.record.fqdn} {c.record._type}" for c in changes[:3]]
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return ", ".join(names) + more


def _applied(index: int) -> str:
    if index == 1:
        return "; nothing was changed"
    return f"; the {index - 1} update message(s) before it were applied"
