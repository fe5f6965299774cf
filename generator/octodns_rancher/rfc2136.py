"""octodns-bind's RFC 2136 provider, with update messages sized to fit and errors that say why.

octodns-bind's ``Rfc2136Provider`` reads a zone by transfer (AXFR) and writes it with dynamic
updates (RFC 2136), both signed with a TSIG key: BIND, Knot and Windows DNS speak it, and
Rancher's external DNS service shipped a provider for it. This subclass keeps its options,
transfers and update operations, and changes two things:

- **Message size.** Upstream puts a fixed number of changes (``update_batch_size``, 1000) in
  each update message. A DNS message over TCP holds at most 65,535 bytes, and 1000 changes of
  records with a few values each (every host of an environment) do not fit: dnspython refuses
  to send the message, after the earlier messages of the same sync were applied. Here the
  changes are rendered in plan order as the message renders them, and each message is
  filled up to ``max_message_bytes`` on the wire (TSIG included), every change whole inside
  one message (the server applies a message as a whole or not at all). Every message is
  built before the first is sent, so a change too large for any message fails with nothing
  sent.
- **Errors.** A key the server does not know, a wrong secret, a refused transfer or update, a
  server that does not answer: one ERROR line naming the server, the zone, the key and what
  to check, instead of dnspython's "The peer didn't like the signature we sent".
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Iterator

import dns.exception
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.renderer
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
        # A CI variable that is not set arrives as "" (GitHub Actions): the default then.
        for name, default in (("port", 53), ("key_algorithm", None), ("timeout", 15)):
            if name in kwargs and str(kwargs[name]).strip() == "":
                kwargs[name] = default
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
        if rcode == dns.rcode.SERVFAIL:
            return (
                "the server could not apply it; BIND does this for a record set of more "
                "values than its max-records-per-type (100 by default): see the server's log"
            )
        return "see the server's log"

    def _messages(self, zone: str, changes) -> Iterator[tuple[UpdateMessage, list]]:
        """Update messages holding whole changes in plan order, each at most
        ``max_message_bytes`` on the wire, TSIG included.

        The changes are rendered one after another as the message will render them (same
        header, zone section, record sets and name compression); the change that no longer
        fits starts the next message. ``_apply`` builds every message before sending any.
        """
        auth = self._auth_params()
        signature = len(UpdateMessage(zone, **auth).to_wire()) - len(UpdateMessage(zone).to_wire())
        budget = self.max_message_bytes - signature
        draft, batch = _Draft(zone, budget), []
        for change in changes:
            op = _Operation(zone, change)
            full = self.update_batch_size and len(batch) >= self.update_batch_size
            if not full and draft.fits(op):
                batch.append(op)
                continue
            if batch:
                yield self._update(zone, auth, batch), [o.change for o in batch]
            draft, batch = _Draft(zone, budget), [op]
            if not draft.fits(op):
                record = change.record
                raise self._fail(
                    f"{record.fqdn} {record._type} is larger than an update message may be "
                    f"({self.max_message_bytes} bytes); nothing was sent"
                )
        if batch:
            yield self._update(zone, auth, batch), [o.change for o in batch]

    @staticmethod
    def _update(zone: str, auth: dict, ops: list[_Operation]) -> UpdateMessage:
        update = UpdateMessage(zone, **auth)
        for op in ops:
            op.add_to(update)
        return update


class _Draft:
    """An update message being filled, rendered as ``Message.to_wire`` renders it."""

    def __init__(self, zone: str, max_size: int) -> None:
        self.renderer = dns.renderer.Renderer(0, dns.opcode.to_flags(dns.opcode.UPDATE), max_size)
        self.renderer.add_question(dns.name.from_text(zone), dns.rdatatype.SOA)

    def fits(self, op: _Operation) -> bool:
        """Add the change's record sets if they fit (the draft is of no use once one did
        not)."""
        try:
            for rrset in op.rrsets:
                self.renderer.add_rrset(dns.renderer.AUTHORITY, rrset)
        except dns.exception.TooBig:
            return False
        return True


class _Operation:
    """One change as upstream writes it: add for a Create, replace for an Update, delete of
    its values for a Delete."""

    def __init__(self, zone: str, change) -> None:
        self.change = change
        name, self.ttl, rtype, values = _rrset(change.record)
        self.owner = dns.name.from_text(name)
        self.rdatas = [dns.rdata.from_text(dns.rdataclass.IN, rtype, v) for v in values]
        alone = UpdateMessage(zone)
        self.add_to(alone)
        self.rrsets = list(alone.update)

    def add_to(self, update: UpdateMessage) -> None:
        if isinstance(self.change, Create):
            update.add(self.owner, self.ttl, *self.rdatas)
        elif isinstance(self.change, Update):
            update.replace(self.owner, self.ttl, *self.rdatas)
        else:
            update.delete(self.owner, *self.rdatas)


def _rrset(record) -> tuple[str, int, str, list[str]]:
    """(fqdn, ttl, type, values in presentation format): ``to_rrset`` from octoDNS 1.22 on,
    ``rrs`` (deprecated there) before."""
    if hasattr(record, "to_rrset"):
        rrset = record.to_rrset()
        return rrset.name, rrset.ttl, rrset._type, rrset.rdatas
    return record.rrs


def _names(changes) -> str:
    names = [f"{c.record.fqdn} {c.record._type}" for c in changes[:3]]
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return ", ".join(names) + more


def _applied(index: int) -> str:
    if index == 1:
        return "; nothing was changed"
    return f"; the {index - 1} update message(s) before it were applied"
