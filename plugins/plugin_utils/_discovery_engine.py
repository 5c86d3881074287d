# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mail settings discovery on the controller: ask every source at once, prove every candidate, choose.

DNS goes through dnspython (a controller requirement); documents through ``http.client`` connected to the
address that dnspython resolved, with SNI and certificate checks for the URL's host; candidates are proven
by the collection's probe engine (``validate`` + ``run_checks``, as the ``*_server_info`` modules do). One
deadline bounds everything: sources and probes run in one thread pool and each network step gets at most
the time left.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._errors import MailOpsError
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.module_utils._probe import run_checks
from ansible_collections.mailops.clients.plugins.plugin_utils import _discovery as d

try:
    import dns.exception
    import dns.resolver

    HAS_DNSPYTHON = True
except ImportError:  # reported by the action plugin with the package's name
    HAS_DNSPYTHON = False
try:
    import dns.nameserver

    HAS_NAMESERVER = True
except ImportError:  # dnspython before 2.4
    HAS_NAMESERVER = False

HTTP_TIMEOUT = 5.0  # FetchHTTP.sys.mjs: provider fetches time out after 5 s
PROBE_TIMEOUT = 10.0  # GuessConfig.sys.mjs: 10 s per connect and read
DNS_TIMEOUT = 3.0
WORKERS = 24
_ACCEPTED_TYPES = ("text/xml", "application/xml", "text/rdf")  # FetchHTTP.sys.mjs


class Options:
    """The validated options of one discovery run."""

    def __init__(self, **kwargs):
        self.timeout = float(kwargs.get("timeout", 30))
        self.dns_servers = list(kwargs.get("dns_servers") or [])
        self.sources = list(kwargs.get("sources") or d.SOURCES)
        self.ispdb_url = kwargs.get("ispdb_url") or d.DEFAULT_ISPDB_URL
        self.send_email_address = bool(kwargs.get("send_email_address", True))
        self.validate_certs = bool(kwargs.get("validate_certs", True))
        self.ca_path = kwargs.get("ca_path")
        self.username = kwargs.get("username")
        self.password = kwargs.get("password")


def parse_dns_servers(values):
    """``IP`` or ``IP:PORT`` (``[v6]:PORT``) -> [(ip, port)]; DiscoveryError naming the entry."""
    import ipaddress

    servers = []
    for index, value in enumerate(values or []):
        text = str(value).strip()
        host, port = text, 53
        if text.startswith("["):
            host, _sep, rest = text[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else 53
        elif text.count(":") == 1:
            host, port = text.split(":")
        try:
            ipaddress.ip_address(host)
            port = int(port)
            if not 1 <= port <= 65535:
                raise ValueError
        except ValueError:
            raise d.DiscoveryError(
                f"dns_servers[{index}]: expected an IP address or IP:PORT like 192.0.2.53 or 192.0.2.53:5353, "
                f"got {value!r}"
            ) from None
        servers.append((host, port))
    return servers


class Discovery:
    """One run over one or more addresses; per-domain work is done once."""

    def __init__(self, options):
        self.options = options
        self.started = time.monotonic()
        self.deadline = self.started + options.timeout
        self.resolver = self._resolver()
        # sources and probes in separate pools: slow document hosts never hold back the probes
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mailops-source")
        self.probes = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mailops-probe")
        self._addresses = {}
        self._lock = threading.Lock()
        self._probes = {}
        self.pending = 0

    # -- time ---------------------------------------------------------------------------------
    def left(self, cap):
        return max(0.0, min(cap, self.deadline - time.monotonic()))

    # -- DNS ----------------------------------------------------------------------------------
    def _resolver(self):
        servers = parse_dns_servers(self.options.dns_servers)
        if not servers:
            return dns.resolver.Resolver()
        resolver = dns.resolver.Resolver(configure=False)
        if HAS_NAMESERVER:  # dnspython 2.4+: one object per server carries its port
            resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers]
        else:
            resolver.nameservers = [ip for ip, _port in servers]
            resolver.nameserver_ports = dict(servers)
        return resolver

    def query(self, name, rdtype):
        """Records of ``name`` (empty list when the name or the type does not exist); DNSException otherwise."""
        lifetime = self.left(DNS_TIMEOUT)
        if lifetime <= 0:
            raise dns.exception.Timeout()
        try:
            return list(self.resolver.resolve(name, rdtype, lifetime=lifetime, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []

    def address_of(self, host):
        """The host's first IPv4 (else IPv6) address from the configured DNS, cached; None if it has none."""
        with self._lock:
            if host in self._addresses:
                return self._addresses[host]
        found = None
        try:
            for rdtype in ("A", "AAAA"):
                records = self.query(host, rdtype)
                if records:
                    found = records[0].address
                    break
        except dns.exception.DNSException:
            found = None
        with self._lock:
            self._addresses[host] = found
        return found

    # -- HTTP ---------------------------------------------------------------------------------
    def _context(self, verify):
        context = ssl.create_default_context(cafile=self.options.ca_path) if verify else ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def fetch(self, url, method="GET", body=None, content_type=None):
        """(status, content type, body, how) of one request; ``how`` is https-verified, https-unverified or http.

        Connects to the address the configured DNS gives for the URL's host. A certificate that does not verify
        is retried without verification so the document can still be used as a hint, reported as such. No
        credentials are ever sent; a redirect returns its Location as the body. OSError/DocumentError on failure.
        """
        parts = urlsplit(url)
        host = parts.hostname
        address = self.address_of(host)
        if address is None:
            raise d.DocumentError(f"{host} does not resolve")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        attempts = [True, False] if parts.scheme == "https" and self.options.validate_certs else [False]
        if parts.scheme == "http":
            attempts = [None]
        last = None
        for verify in attempts:
            timeout = self.left(HTTP_TIMEOUT)
            if timeout <= 0:
                raise TimeoutError("no time left")
            sock = socket.create_connection((address, parts.port or (443 if verify is not None else 80)), timeout)
            try:
                if verify is not None:
                    try:
                        sock = self._context(verify).wrap_socket(sock, server_hostname=host)
                    except ssl.SSLCertVerificationError as exc:
                        last = exc
                        continue
                conn = http.client.HTTPConnection(host, timeout=timeout)
                conn.sock = sock
                headers = {"Host": host, "User-Agent": "mailops.clients discovery", "Connection": "close"}
                if content_type:
                    headers["Content-Type"] = content_type
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = self._read(response, sock)
                how = "http" if verify is None else ("https-verified" if verify else "https-unverified")
                if response.status in (301, 302, 303, 307, 308):
                    data = response.getheader("Location", "").encode()
                return response.status, response.getheader("Content-Type", ""), data, how
            finally:
                sock.close()
        raise last

    def _read(self, response, sock):
        """The body, at most MAX_DOCUMENT + 1 bytes, within the time left (a dripping server cannot hold it)."""
        chunks = []
        size = 0
        while size <= d.MAX_DOCUMENT:
            left = self.left(HTTP_TIMEOUT)
            if left <= 0:
                raise TimeoutError("the document did not arrive in time")
            sock.settimeout(left)
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    # -- sources ------------------------------------------------------------------------------
    def _document(self, report, source, url, email, parse):
        """Fetch and parse one document into ``report``; True when it gave candidates."""
        report.urls.append(url)
        for _redirect in range(3):  # at most two redirects, and only to https (as for Autodiscover)
            try:
                status, ctype, data, how = self.fetch(url)
            except (OSError, ssl.SSLError, http.client.HTTPException, d.DocumentError) as exc:
                report.detail += f"{url}: {_reason(exc)}; "
                return False
            target = data.decode("ascii", "replace") if status in (301, 302, 303, 307, 308) else ""
            if not target.startswith("https://"):
                break
            report.detail += f"{url}: redirect to {target}; "
            url = target
            report.urls.append(url)
        if status != 200:
            report.detail += f"{url}: HTTP {status}; "
            return False
        if ctype.split(";")[0].strip().lower() not in _ACCEPTED_TYPES:
            report.detail += f"{url}: content type {ctype or '(none)'} is not XML; "
            return False
        trusted = how == "https-verified"
        try:
            found = parse(data, email, source, url, trusted)
        except d.DocumentError as exc:
            report.detail += f"{url}: {exc}; "
            return False
        report.candidates.extend(found)
        report.detail += f"{url}: {len(found)} server(s) ({how}); "
        report.status = "found"
        if not trusted:
            report.findings.append(
                make_finding(
                    "discovery_document_untrusted",
                    source=source,
                    url=url,
                    how="fetched over plain HTTP"
                    if how == "http"
                    else "served with a certificate that does not verify",
                ).as_dict()
            )
        return True

    def _provider(self, domain, email, source):
        """One of the provider's URLs pairs (FetchConfig.sys.mjs): https first, then http."""
        report = _report()
        for name, url, _https in d.autoconfig_urls(domain, email, self.options.send_email_address):
            if name == source and report.status != "found":
                self._document(report, source, url, email, d.parse_autoconfig)
        if report.status != "found":
            report.status = "empty"
        return {source: report}

    def source_autoconfig(self, domain, email):
        return self._provider(domain, email, "autoconfig")

    def source_wellknown(self, domain, email):
        return self._provider(domain, email, "wellknown")

    def source_ispdb(self, domain, email, source="ispdb"):
        report = _report()
        self._document(report, source, d.ispdb_url(self.options.ispdb_url, domain), email, d.parse_autoconfig)
        if report.status != "found":
            report.status = "empty"
        return {source: report}

    def source_mx(self, domain, email):
        report = _report()
        try:
            records = sorted(self.query(domain, "MX"), key=lambda r: r.preference)
        except dns.exception.DNSException as exc:
            report.status, report.detail = "failed", f"MX lookup: {_reason(exc)}"
            return {"mx": report}
        if not records:
            report.status, report.detail = "empty", "no MX record"
            return {"mx": report}
        mx_host = records[0].exchange.to_text().rstrip(".").lower()
        report.detail = f"MX {mx_host}; "
        for base in d.mx_base_domains(mx_host):
            if base == domain:
                continue
            # ISPDB by the MX's base domain, then (Thunderbird 128+) the MX provider's own autoconfig over https
            urls = [d.ispdb_url(self.options.ispdb_url, base), f"https://autoconfig.{base}/mail/config-v1.1.xml"]
            for url in urls:
                if self._document(report, "mx", url, email, d.parse_autoconfig):
                    return {"mx": report}
        report.status = "empty"
        return {"mx": report}

    def source_srv(self, domain, _email):
        report = _report()
        for label in d.SRV_SERVICES:
            name = f"{label}.{domain}"
            report.urls.append(name)
            try:
                records = self.query(name, "SRV")
            except dns.exception.DNSException as exc:
                report.detail += f"{name}: {_reason(exc)}; "
                continue
            found, not_offered = d.srv_candidates(
                label, [(r.priority, r.weight, r.port, r.target.to_text()) for r in records]
            )
            if not_offered:
                report.not_offered.append(d.SRV_SERVICES[label][1:])
                report.findings.append(make_finding("discovery_service_not_offered", name=name).as_dict())
                report.detail += f"{name}: not offered; "
            elif found:
                report.detail += f"{name}: {len(found)}; "
            report.candidates.extend(found)
        report.status = "found" if report.candidates else "empty"
        return {"srv": report}

    def source_autodiscover(self, domain, email):
        report = _report()
        urls = d.autodiscover_urls(domain)
        try:
            records = self.query(f"{d.AUTODISCOVER_SRV}.{domain}", "SRV")
        except dns.exception.DNSException:
            records = []
        for record in sorted(records, key=lambda r: r.priority):
            target = record.target.to_text().rstrip(".")
            if target:
                urls.append(f"https://{target}:{record.port}/autodiscover/autodiscover.xml")
        address = email
        for _redirect in range(3):  # ExchangeAutoDiscover.sys.mjs follows RedirectAddr at most twice
            redirect = None
            for url in urls:
                report.urls.append(url)
                try:
                    status, ctype, data, how = self.fetch(
                        url, "POST", d.autodiscover_request(address), "text/xml; charset=utf-8"
                    )
                except (OSError, ssl.SSLError, http.client.HTTPException, d.DocumentError) as exc:
                    report.detail += f"{url}: {_reason(exc)}; "
                    continue
                if status != 200:
                    report.detail += f"{url}: HTTP {status}; "
                    continue
                try:
                    found, redirect = d.parse_autodiscover(data, email, url, how == "https-verified")
                except d.DocumentError as exc:
                    report.detail += f"{url}: {exc}; "
                    continue
                if redirect:
                    report.detail += f"{url}: redirect to {redirect}; "
                    break
                report.candidates.extend(found)
                report.detail += f"{url}: {len(found)} server(s) ({how}); "
                report.status = "found"
                if how != "https-verified":
                    how_text = "fetched over plain HTTP" if how == "http" else "served with an unverified certificate"
                    report.findings.append(
                        make_finding(
                            "discovery_document_untrusted", source="autodiscover", url=url, how=how_text
                        ).as_dict()
                    )
                return {"autodiscover": report}
            if not redirect:
                break
            address = redirect
            urls = d.autodiscover_urls(d.split_email(redirect)[1])
        report.status = "empty"
        return {"autodiscover": report}

    def source_guess(self, domain, _email):
        report = _report()
        hosts = {}
        for candidate in d.guess_candidates(domain):
            if candidate.host not in hosts:
                hosts[candidate.host] = self._resolves(candidate.host)
            if hosts[candidate.host]:
                report.candidates.append(candidate)
        report.urls = sorted(hosts)
        resolved = sorted(h for h, ok in hosts.items() if ok)
        report.detail = f"resolving: {', '.join(resolved) or 'none'}"
        report.status = "found" if report.candidates else "empty"
        return {"guess": report}

    def _resolves(self, host):
        if self.options.dns_servers:
            return self.address_of(host) is not None
        try:
            return bool(self.query(host, "A") or self.query(host, "AAAA"))
        except dns.exception.DNSException:
            return False

    # -- probes -------------------------------------------------------------------------------
    def probe(self, candidate, credentials=None):
        """The probe result of one candidate (shared per endpoint and username), {verdict, findings, ...}."""
        key = (candidate.key, credentials[0] if credentials else None)
        with self._lock:
            future = self._probes.get(key)
            if future is None:
                future = self.probes.submit(self._probe, candidate, credentials)
                self._probes[key] = future
        return future

    def _probe(self, candidate, credentials):
        timeout = self.left(PROBE_TIMEOUT)
        if timeout <= 0.2:
            return {"verdict": "error", "findings": [], "reason": "no time left in the discovery timeout"}
        host = candidate.host
        server_name = None
        if self.options.dns_servers:
            address = self.address_of(candidate.host)
            if address is None:
                return {"verdict": "error", "findings": [], "reason": f"{candidate.host} does not resolve"}
            host, server_name = address, candidate.host
        params = {
            "host": host,
            "port": candidate.port,
            "security": candidate.security,
            "server_name": server_name,
            "validate_certs": self.options.validate_certs,
            "ca_path": self.options.ca_path,
            "timeout": timeout,
            "allow_insecure": True,
        }
        # never a password over an unencrypted connection: cleartext candidates are probed without login
        if credentials and candidate.security != "none":
            params["username"], params["password"] = credentials
        try:
            result = run_checks(validate(params, candidate.protocol))
        except MailOpsError as exc:
            return {"verdict": "error", "findings": [], "reason": str(exc)}
        for finding in result["findings"]:  # the messages name the address; the user asked about the name
            if server_name:
                finding["message"] = finding["message"].replace(host, candidate.host)
        errors = [f for f in result["findings"] if f["severity"] == "error"]
        reason = errors[0]["message"] if errors else ""
        return {
            "verdict": result["verdict"],
            "findings": result["findings"],
            "reason": reason,
            "login": result.get("login"),
            "auth_mechanisms": result.get("auth_mechanisms"),
        }

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.probes.shutdown(wait=False, cancel_futures=True)


def _report():
    return d.SourceReport()


def _reason(exc):
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate does not verify ({exc.verify_message})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if HAS_DNSPYTHON and isinstance(exc, dns.exception.Timeout):
        return "the DNS server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


_SOURCE_FUNCS = {
    "autoconfig": "source_autoconfig",
    "wellknown": "source_wellknown",
    "ispdb": "source_ispdb",
    "mx": "source_mx",
    "srv": "source_srv",
    "autodiscover": "source_autodiscover",
    "guess": "source_guess",
}


def discover(emails, options):
    """Discover and prove settings for every address; a list of result dicts (one per address, same order)."""
    run = Discovery(options)
    try:
        return _discover(run, emails, options)
    finally:
        run.close()


def _discover(run, emails, options):
    domains = {}
    for email in emails:
        domains.setdefault(d.split_email(email)[1], []).append(email)
    # 1. every source of every domain at once (per domain, not per address)
    source_futures = {}
    for domain, addresses in domains.items():
        for source in dict.fromkeys(options.sources):
            func = _SOURCE_FUNCS[source]
            future = run.pool.submit(getattr(run, func), domain, addresses[0])
            source_futures[future] = domain
    reports = {domain: {} for domain in domains}
    probe_futures = {}
    credentials = (options.username, options.password) if options.password else None
    pending = set(source_futures)
    while pending:
        done, pending = concurrent.futures.wait(
            pending, timeout=max(0.0, run.deadline - time.monotonic()), return_when=concurrent.futures.FIRST_COMPLETED
        )
        if not done:
            break
        for future in done:
            domain = source_futures[future]
            try:
                reports[domain].update(future.result())
            except Exception as exc:  # a source that broke is reported, the others go on
                broken = reports[domain].setdefault("error", d.SourceReport(status="failed"))
                broken.detail += f"{type(exc).__name__}: {exc}; "
                continue
            # 2. prove each candidate as soon as a source names it (probes shared by endpoint)
            for report in future.result().values():
                for candidate in report.candidates:
                    for email in domains[domain]:
                        creds = _credentials_for(credentials, candidate, email)
                        probe_futures[(email, candidate.key, candidate.source)] = (
                            candidate,
                            run.probe(candidate, creds),
                        )
    unfinished_sources = len(pending)
    all_probes = [future for _candidate, future in probe_futures.values()]
    _done, not_done = concurrent.futures.wait(all_probes, timeout=max(0.0, run.deadline - time.monotonic()))
    results = []
    for email in emails:
        domain = d.split_email(email)[1]
        results.append(
            _result(email, domain, reports[domain], probe_futures, options, unfinished_sources + len(not_done))
        )
    return results


def _tls_failures(candidates, outcomes, direction):
    """The first failure after the TCP connect of an encrypted candidate in ``direction`` ("" when none).

    An encrypted server that answered and then failed (certificate, handshake, STARTTLS, login) while a
    cleartext one works is what a downgrade by an attacker on the path looks like.
    """
    for candidate in candidates:
        if candidate.direction != direction or candidate.security == "none":
            continue
        for finding in outcomes[candidate.key]["findings"]:
            if finding["severity"] == "error" and finding["stage"] != "connect":
                return f"{d.endpoint_label(candidate)}: {finding['code']}"
    return ""


def _credentials_for(credentials, candidate, email):
    if not credentials:
        return None
    username, password = credentials
    if username:
        return username, password
    form = candidate.username or "email"
    if form == "email":
        return email, password
    if form == "local_part":
        return email.rsplit("@", 1)[0], password
    return form, password


def _probe_outcome(future):
    if not future.done():
        return {"verdict": "error", "findings": [], "reason": "did not finish within the discovery timeout"}
    try:
        return future.result()
    except Exception as exc:  # a probe that broke counts as not verified, with the reason
        return {"verdict": "error", "findings": [], "reason": f"{type(exc).__name__}: {exc}"}


def _result(email, domain, reports, probe_futures, options, unfinished):
    mine = []
    outcomes = {}
    for (addr, key, _source), (candidate, future) in probe_futures.items():
        if addr != email:
            continue
        mine.append(candidate)
        outcomes[key] = _probe_outcome(future)
    not_offered = {tuple(item) for report in reports.values() for item in report.not_offered}
    candidates, named_by = d.merge([c for c in mine if not d.ruled_out(c, not_offered)])
    verified = {c.key: outcomes[c.key]["verdict"] != "error" for c in candidates}
    candidates.sort(key=lambda c: (d.DIRECTIONS.index(c.direction), d.rank_key(c, verified[c.key])))
    findings = []
    for report in reports.values():
        findings.extend(report.findings)
    # a document or record that names a dead server is reported with its source (guesses are not claims)
    for candidate in candidates:
        if not verified[candidate.key]:
            for source in named_by[candidate.key]:
                if source == "guess":
                    continue
                findings.append(
                    make_finding(
                        "discovery_candidate_failed",
                        source=source,
                        where=candidate.url or source,
                        endpoint=d.endpoint_label(candidate),
                        reason=outcomes[candidate.key]["reason"] or "see the candidate's findings",
                    ).as_dict()
                )
    chosen = d.choose(candidates, verified)
    for direction in d.DIRECTIONS:
        pick = chosen[direction]
        if pick is None:
            tried = sum(1 for c in candidates if c.direction == direction)
            findings.append(
                make_finding("discovery_nothing_verified", direction=direction, domain=domain, tried=tried).as_dict()
            )
        elif pick.security == "none" and _tls_failures(candidates, outcomes, direction):
            findings.append(
                make_finding(
                    "discovery_cleartext_refused",
                    endpoint=d.endpoint_label(pick),
                    direction=direction,
                    reason=_tls_failures(candidates, outcomes, direction),
                ).as_dict()
            )
            chosen[direction] = None
        elif pick.security == "none":
            findings.append(
                make_finding("discovery_cleartext_only", direction=direction, endpoint=d.endpoint_label(pick)).as_dict()
            )
        # sources that named a different verified first choice for this direction
        firsts = {}
        for candidate in candidates:
            if candidate.direction != direction or candidate.source == "guess" or not verified[candidate.key]:
                continue
            firsts.setdefault(candidate.source, d.endpoint_label(candidate))
        if len(set(firsts.values())) > 1:
            choices = "; ".join(f"{source}: {label}" for source, label in sorted(firsts.items()))
            findings.append(make_finding("discovery_sources_disagree", direction=direction, choices=choices).as_dict())
    if unfinished:
        findings.append(make_finding("discovery_timeout", timeout=f"{options.timeout:g}", pending=unfinished).as_dict())
    server = d.server_entry(chosen)
    username_form = None
    if server is not None:
        pick = chosen["incoming"]
        username_form = options.username or pick.username or "email"
    return {
        "email": email,
        "server": server,
        "username_form": username_form,
        "candidates": [_candidate_dict(c, named_by[c.key], outcomes[c.key], verified[c.key]) for c in candidates],
        "sources": {name: report.as_dict() for name, report in reports.items()},
        "findings": findings,
    }


def _candidate_dict(candidate, sources, outcome, verified):
    return {
        "direction": candidate.direction,
        "protocol": candidate.protocol,
        "host": candidate.host,
        "port": candidate.port,
        "security": candidate.security,
        "auth": candidate.auth,
        "source": candidate.source,
        "sources": list(sources),
        "url": candidate.url,
        "trusted": candidate.trusted,
        "verified": verified,
        "verdict": outcome["verdict"],
        "login": outcome.get("login"),
        "findings": outcome["findings"],
    }
