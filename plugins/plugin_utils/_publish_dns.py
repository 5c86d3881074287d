# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SRV records for the mail domains of a domain plan (RFC 6186, RFC 8314), and their RFC 2136 update.

Controller side (the action ``mail_srv_records``). The planning (``check_plan``, ``plan_records``,
``zone_lines``, ``changes_between``) is pure; ``DnsZone`` reads the current records and sends one signed
update per zone through dnspython. Facts and their sources:

- RFC 6186 §3.1, §3.2, §3.3 and RFC 8314 §7.3: the labels ``_submission``, ``_imap``, ``_imaps``, ``_pop3``,
  ``_pop3s`` and ``_submissions`` under ``_tcp.<domain>`` (the table is ``_discovery.SRV_SERVICES``, shared with
  the discovery that reads these records back).
- RFC 6186 §3.4: the priority orders the services of one direction across protocols (IMAP 0 and POP3 10 means
  "prefer IMAP"), so a server's priority is its place in the plan's preference order times ``PRIORITY_STEP``; the
  RFC's examples carry weight 1 for a single server.
- RFC 2782 ("Target"; repeated by RFC 6186 §3.4): a single record with the target "." means the service is
  decidedly not available at this domain, so a client does not try it.
- RFC 6186 §3.2/§3.3 and RFC 8314 §5: ``_imap``/``_pop3``/``_submission`` announce the STARTTLS ports, and a
  client following them negotiates TLS. A cleartext server (security ``none``) has no label of its own: publishing
  it under the STARTTLS label would send clients there to fail, so it is left out (``not_published`` in the
  result) with a warning.
- Microsoft's Exchange documentation ("Autodiscover service", SRV record ``_autodiscover._tcp``, priority 0,
  weight 0, port 443, the host that answers Autodiscover over HTTPS).
- RFC 2136 §2.4.2 and §3.2.5: a value-dependent prerequisite carries TTL 0 and makes the update fail (NXRRSET)
  when the RRset is no longer what was read; §3.4.2.3 replace by "delete RRset, then add". RFC 8945: TSIG.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from dataclasses import dataclass

from ansible_collections.mailops.clients.plugins.plugin_utils._discovery import AUTODISCOVER_SRV, SRV_SERVICES
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import dns_name as inventory_dns_name

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update

    HAS_DNSPYTHON = True
except ImportError:  # reported by the action plugin with the package's name
    HAS_DNSPYTHON = False

# every SRV name this action owns under each domain it publishes, in the order of zone files and results
OWNED_LABELS = (*SRV_SERVICES, AUTODISCOVER_SRV)
PRIORITY_STEP = 10
WEIGHT = 1
NOT_OFFERED = (0, 0, 0, ".")
AUTODISCOVER_PORT = 443
DEFAULT_TTL = 3600
MAX_TTL = 2**31 - 1  # RFC 2181 §8
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha224", "hmac-sha384", "hmac-sha512", "hmac-sha1")
# the security words of the inventory (module_utils._connection.SECURITY_CHOICES) plus "plain", the word the
# autoconfig document uses for "none"; both mean cleartext here
_CLEARTEXT = ("none", "plain")
_PROTOCOLS = {"incoming": ("imap", "pop3"), "outgoing": ("smtp",)}
ZONE_FILE_HEADER = (
    "; mail service SRV records (RFC 6186, RFC 8314) written by mailops.clients.mail_srv_records\n"
    "; generated from the verified domain plan: a change here is replaced on the next run\n"
)


class PublishDnsError(ValueError):
    """An option or a plan entry that cannot be used, or an update that failed; names the field and the fix."""


@dataclass(frozen=True)
class Record:
    """One SRV record; ``name`` and ``target`` absolute (trailing dot), lower case."""

    name: str
    ttl: int
    priority: int
    weight: int
    port: int
    target: str

    @property
    def rdata(self) -> tuple:
        return (self.priority, self.weight, self.port, self.target)

    def text(self) -> str:
        return f"{self.name} {self.ttl} IN SRV {self.priority} {self.weight} {self.port} {self.target}"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def dns_name(value, field: str, fix: str) -> str:
    """A host or domain name in lower-case A-labels without the trailing dot; PublishDnsError otherwise."""
    name = inventory_dns_name(value)
    if name is None:
        raise PublishDnsError(f"{field}: {_show(value)} is not a valid DNS name; {fix}")
    return name


# (protocol, security) → the SRV label that announces it; cleartext has none (RFC 6186 names no such label)
_LABELS = {(protocol, security): label for label, (_direction, protocol, security) in SRV_SERVICES.items()}


def label_of(protocol: str, security: str):
    """The SRV label that announces ``protocol`` with ``security``, None for cleartext (no label says so)."""
    return _LABELS.get((protocol, security))


def _server(entry, direction: str, field: str) -> dict:
    if not isinstance(entry, dict):
        raise PublishDnsError(f"{field}: expected a dictionary with protocol, host, port and security")
    protocols = _PROTOCOLS[direction]
    protocol = entry.get("protocol")
    if protocol not in protocols:
        raise PublishDnsError(f"{field}.protocol: {_show(protocol)} is not one of {', '.join(protocols)}")
    host = dns_name(entry.get("host"), f"{field}.host", "give the server's host name, as verified")
    port = entry.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PublishDnsError(f"{field}.port: {_show(port)} is not a port number (1 to 65535)")
    security = entry.get("security")
    if security not in ("tls", "starttls", *_CLEARTEXT):
        raise PublishDnsError(f"{field}.security: {_show(security)} is not one of tls, starttls, none")
    return {"protocol": protocol, "host": host, "port": port, "security": security}


def check_plan(domains, remove=()) -> tuple:
    """The domain plan and the ``remove`` list, checked: ``({domain: {incoming, outgoing, autodiscover_host}},
    [domain, ...])`` with names in lower-case A-labels. Other keys of a domain (username, display_name, auth) are
    the web documents' business and are ignored here."""
    if not isinstance(domains, dict):
        raise PublishDnsError("domains: expected a dictionary of domain name to its plan (incoming, outgoing, ...)")
    plan = {}
    for raw_name, entry in domains.items():
        where = f"domains[{_show(raw_name)}]"
        domain = dns_name(raw_name, where, "use the mail domain of the addresses, e.g. example.com")
        if domain in plan:
            raise PublishDnsError(f"{where}: the domain {domain} is listed twice; keep one entry")
        if not isinstance(entry, dict):
            raise PublishDnsError(f"{where}: expected a dictionary with incoming, outgoing and autodiscover_host")
        servers = {}
        for direction in ("incoming", "outgoing"):
            items = entry.get(direction) or []
            if not isinstance(items, list):
                raise PublishDnsError(f"{where}.{direction}: expected a list of servers in preference order")
            servers[direction] = [_server(s, direction, f"{where}.{direction}[{i}]") for i, s in enumerate(items)]
        autodiscover = entry.get("autodiscover_host")
        if autodiscover is not None:
            autodiscover = dns_name(
                autodiscover, f"{where}.autodiscover_host", "give the host that answers Autodiscover, or null"
            )
        plan[domain] = dict(servers, autodiscover_host=autodiscover)
    if not isinstance(remove, (list, tuple)):
        raise PublishDnsError("remove: expected a list of domain names")
    removed = []
    for index, raw_name in enumerate(remove):
        domain = dns_name(raw_name, f"remove[{index}]", "give a mail domain whose SRV records are to go")
        if domain in plan:
            raise PublishDnsError(
                f"remove[{index}]: {domain} is also in domains; a domain is either published or removed, not both"
            )
        if domain not in removed:
            removed.append(domain)
    return plan, removed


def plan_records(plan: dict, removed, ttl: int) -> tuple:
    """The records every owned name should hold: ``({domain: {name: [Record, ...]}}, skipped)``.

    An empty list means "no SRV RRset at this name". ``skipped`` lists the cleartext servers that were left out,
    each ``{domain, direction, protocol, host, port, security, reason}``.
    """
    wanted = {}
    skipped = []
    for domain, entry in plan.items():
        names = {f"{label}.{domain}.": [] for label in OWNED_LABELS}
        for direction in ("incoming", "outgoing"):
            rank = 0
            for server in entry[direction]:
                label = label_of(server["protocol"], server["security"])
                if label is None:
                    skipped.append(
                        dict(
                            server,
                            domain=domain,
                            direction=direction,
                            reason="cleartext: no SRV label announces a server without TLS (RFC 6186, RFC 8314)",
                        )
                    )
                    continue
                name = f"{label}.{domain}."
                target = server["host"] + "."
                if any((r.port, r.target) == (server["port"], target) for r in names[name]):
                    continue  # the same server twice: its first (preferred) place counts
                names[name].append(Record(name, ttl, rank * PRIORITY_STEP, WEIGHT, server["port"], target))
                rank += 1
        for label in SRV_SERVICES:
            name = f"{label}.{domain}."
            if not names[name]:
                names[name] = [Record(name, ttl, *NOT_OFFERED)]
        if entry["autodiscover_host"]:
            name = f"{AUTODISCOVER_SRV}.{domain}."
            names[name] = [Record(name, ttl, 0, 0, AUTODISCOVER_PORT, entry["autodiscover_host"] + ".")]
        wanted[domain] = names
    for domain in removed:
        wanted[domain] = {f"{label}.{domain}.": [] for label in OWNED_LABELS}
    return wanted, skipped


def ordered(records) -> list:
    return sorted(records, key=lambda r: (r.priority, r.target, r.port, r.weight, r.ttl))


def zone_lines(records_by_name: dict) -> list:
    """Zone-file lines (absolute names) for ``{name: [Record]}``, in the order of the names given."""
    return [record.text() for name in records_by_name for record in ordered(records_by_name[name])]


def zone_file_text(wanted: dict, plan: dict) -> str:
    """The zone snippet for the published domains (sorted), owned names in OWNED_LABELS order."""
    parts = [ZONE_FILE_HEADER]
    for domain in sorted(plan):
        parts.append(f"; {domain}\n")
        parts.extend(line + "\n" for line in zone_lines(wanted[domain]))
    return "".join(parts)


def same_records(current, wanted) -> bool:
    """Whether two record lists hold the same RRset (order ignored, TTL included)."""
    return sorted(r.text() for r in current) == sorted(r.text() for r in wanted)


def changes_between(current: dict, wanted: dict) -> list:
    """``[{"name", "action", "before": [Record], "after": [Record]}]`` for every name whose RRset differs.

    ``current`` and ``wanted`` map names to record lists ([] = no RRset); action is create, update or delete.
    """
    changes = []
    for name, after in wanted.items():
        before = current.get(name, [])
        if same_records(before, after):
            continue
        action = "create" if not before else ("delete" if not after else "update")
        changes.append({"name": name, "action": action, "before": ordered(before), "after": ordered(after)})
    return changes


# -- the DNS options -------------------------------------------------------------------------------------------


def check_ttl(ttl) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise PublishDnsError(f"ttl: {_show(ttl)} is not a TTL in seconds (0 to {MAX_TTL}); the default is 3600")
    return ttl


def zone_of(domain: str, zone) -> str:
    """The zone that holds ``domain``'s SRV names: dns.zone when given (the domain must lie inside it)."""
    if zone is None:
        return domain
    if domain != zone and not domain.endswith("." + zone):
        raise PublishDnsError(
            f"dns.zone: the domain {domain} is not inside the zone {zone}; leave dns.zone out (every domain is then "
            "its own zone) or run one task per zone"
        )
    return zone


def tsig_keyring(tsig: dict):
    """``(keyring, keyname)`` from the ``dns.tsig`` option; the secret never appears in a message."""
    name = dns_name(tsig.get("name"), "dns.tsig.name", "give the key's name as the server knows it")
    algorithm = tsig.get("algorithm") or "hmac-sha256"
    if algorithm not in TSIG_ALGORITHMS:
        raise PublishDnsError(f"dns.tsig.algorithm: {_show(algorithm)} is not one of {', '.join(TSIG_ALGORITHMS)}")
    secret = tsig.get("secret")
    try:
        if not isinstance(secret, str) or not base64.b64decode(secret.strip(), validate=True):
            raise ValueError
    except (ValueError, binascii.Error):
        raise PublishDnsError(
            "dns.tsig.secret: not a base64 key (the form tsig-keygen, keymgr -t or knotc print it); copy the "
            "secret of the key from the server's configuration"
        ) from None
    keyring = dns.tsigkeyring.from_text({name: (algorithm, secret.strip())})
    return keyring, dns.name.from_text(name)


def server_address(server, port) -> tuple:
    """``(address, port)``: an IP address as given, a host name through the system resolver."""
    if not isinstance(server, str) or not server.strip():
        raise PublishDnsError("dns.server: give the primary server's address or host name")
    server = server.strip().strip("[]")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PublishDnsError(f"dns.port: {_show(port)} is not a port number (1 to 65535); the default is 53")
    try:
        return str(ipaddress.ip_address(server)), port
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(server, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PublishDnsError(
            f"dns.server: cannot resolve {server} ({exc.strerror or exc}); give the primary server's IP address"
        ) from None
    return infos[0][4][0], port


class DnsZone:
    """Reads and updates the owned SRV names of one zone on one primary server, over TCP, signed with TSIG."""

    def __init__(self, zone: str, address: tuple, timeout: float, keyring=None, keyname=None):
        self.zone = zone
        self.address, self.port = address
        self.timeout = timeout
        self.keyring = keyring
        self.keyname = keyname

    @property
    def where(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def _exchange(self, message, what: str, sign: bool = True):
        if sign and self.keyring is not None:
            message.use_tsig(self.keyring, keyname=self.keyname)
        try:
            return dns.query.tcp(message, self.address, port=self.port, timeout=self.timeout)
        except dns.exception.Timeout:
            raise PublishDnsError(
                f"dns.server: no answer from {self.where} within {self.timeout:g}s ({what}); check dns.server and "
                "dns.port, that the server answers over TCP, or raise dns.timeout"
            ) from None
        except dns.tsig.PeerBadKey:
            raise PublishDnsError(
                f"dns.tsig.name: {self.where} does not accept the key {self.keyname.to_text(True)} for the zone "
                f"{self.zone} (TSIG BADKEY, {what}); use the name of a key the server's configuration allows for "
                "this zone (Knot: an acl of the zone with this key and action update)"
            ) from None
        except (dns.tsig.PeerBadSignature, dns.tsig.BadSignature):
            raise PublishDnsError(
                f"dns.tsig.secret: {self.where} rejected the signature made with the key "
                f"{self.keyname.to_text(True)} (TSIG BADSIG, {what}); the secret or dns.tsig.algorithm differs from "
                "the server's key of that name"
            ) from None
        except dns.tsig.PeerBadTime:
            raise PublishDnsError(
                f"dns.tsig: {self.where} rejected the signature's time (TSIG BADTIME, {what}); the controller's "
                "clock and the server's differ by more than 5 minutes: synchronise them (NTP)"
            ) from None
        except dns.tsig.PeerError as exc:
            raise PublishDnsError(
                f"dns.tsig: {self.where} rejected the TSIG signature ({exc}, {what}); check the key's name, "
                "algorithm and secret against the server's configuration"
            ) from None
        except OSError as exc:
            raise PublishDnsError(
                f"dns.server: cannot talk to {self.where} ({exc.strerror or exc}, {what}); check dns.server and "
                "dns.port (the primary server, TCP)"
            ) from None
        except dns.exception.FormError as exc:
            if "requires a TSIG" not in str(exc):
                raise PublishDnsError(
                    f"dns.server: the answer of {self.where} cannot be read ({exc}, {what}); check that dns.server "
                    "is a DNS server"
                ) from None
            raise PublishDnsError(
                f"dns.tsig: {self.where} left its answer to {what} unsigned (an error it does not sign); "
                f"check that the server is the primary of the zone {self.zone} and allows the key "
                f"{self.keyname.to_text(True)} there"
            ) from None
        except dns.exception.DNSException as exc:
            raise PublishDnsError(
                f"dns.server: the answer of {self.where} cannot be read ({exc}, {what}); check that dns.server is a "
                "DNS server"
            ) from None

    def _unsigned_refusal(self, reply, what: str):
        """The error for a reply that is not NOERROR, or None."""
        rcode = reply.rcode()
        if rcode == dns.rcode.NOERROR:
            return None
        text = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.NOTAUTH and self.keyring is None:
            fix = "give dns.tsig (the key the server allows updates with)"
        elif rcode in (dns.rcode.NOTAUTH, dns.rcode.NOTZONE):
            fix = "point dns.server at the primary server of the zone, or correct dns.zone"
        elif rcode == dns.rcode.REFUSED:
            fix = (
                "allow updates of this zone for the key in the server's configuration (Knot: an acl with action "
                "update and the key; BIND: update-policy or allow-update), and check dns.zone"
            )
        elif rcode in (dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.YXDOMAIN, dns.rcode.NXDOMAIN):
            fix = "the SRV records changed while this task ran (another writer); run the task again"
        else:
            fix = "see the server's log"
        return PublishDnsError(f"dns: {self.where} answered {text} to {what} of zone {self.zone}; {fix}")

    def check_authority(self) -> None:
        """The server must be authoritative for the zone (SOA with the AA flag)."""
        what = f"the SOA query for {self.zone}"
        reply = self._exchange(dns.message.make_query(self.zone + ".", "SOA"), what, sign=False)
        refusal = self._unsigned_refusal(reply, what)
        soa = reply.get_rrset(reply.answer, dns.name.from_text(self.zone), dns.rdataclass.IN, dns.rdatatype.SOA)
        if refusal is not None or not reply.flags & dns.flags.AA or soa is None:
            raise PublishDnsError(
                f"dns.zone: {self.where} is not authoritative for the zone {self.zone} (answer "
                f"{dns.rcode.to_text(reply.rcode())}, no SOA with the AA flag); point dns.server at the zone's "
                "primary server, or set dns.zone to the zone that holds the mail domains"
            )

    def read(self, names) -> dict:
        """``{name: [Record]}`` as the server holds them now ([] when the name has no SRV RRset)."""
        current = {}
        for name in names:
            what = f"the SRV query for {name}"
            reply = self._exchange(dns.message.make_query(name, "SRV"), what)
            if reply.rcode() == dns.rcode.NXDOMAIN:
                current[name] = []
                continue
            refusal = self._unsigned_refusal(reply, what)
            if refusal is not None:
                raise refusal
            if not reply.flags & dns.flags.AA:
                raise PublishDnsError(
                    f"dns.zone: {self.where} is not authoritative for {name} (it is delegated to another zone); set "
                    "dns.zone to the zone that holds it and dns.server to that zone's primary"
                )
            rrset = reply.get_rrset(reply.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.SRV)
            current[name] = (
                [Record(name, rrset.ttl, r.priority, r.weight, r.port, r.target.to_text().lower()) for r in rrset]
                if rrset is not None
                else []
            )
        return current

    def update(self, changes) -> None:
        """One RFC 2136 update for every change of this zone, guarded by prerequisites on what was read."""
        update = dns.update.UpdateMessage(self.zone + ".")
        for change in changes:
            name = dns.name.from_text(change["name"])
            before = [_rdata(r) for r in change["before"]]
            if before:
                update.present(name, *before)
            else:
                update.absent(name, "SRV")
            if change["after"]:
                update.replace(name, change["after"][0].ttl, *[_rdata(r) for r in change["after"]])
            else:
                update.delete(name, "SRV")
        what = "the update"
        reply = self._exchange(update, what)
        refusal = self._unsigned_refusal(reply, what)
        if refusal is not None:
            raise refusal


def _rdata(record: Record):
    return dns.rdata.from_text(
        dns.rdataclass.IN,
        dns.rdatatype.SRV,
        f"{record.priority} {record.weight} {record.port} {record.target}",
    )
