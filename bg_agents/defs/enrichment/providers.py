"""Where company facts about a customer come from: the provider interface and the offline one.

A provider is asked about a company *domain* only (never a person's name or address), and its
answer is :class:`Company`: company data and nothing else. The domain itself comes from the
customer's billing e-mail (:func:`company_domain`); a free-mail address (gmail.com, gmx.de...)
says nothing about a company and is ignored, as is anything that is not a plausible public domain.

``OfflineProvider`` needs no network: the domain is the one fact it knows.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import idna
from babel import Locale

# The facts a customer can carry (customer_facts.field). Anything else is refused on the way in
# and flagged by the ``customer_facts_company_only`` check.
FIELDS = ("company_name", "domain", "industry", "size_band", "country", "logo_url")

# Employee-count bands, the only values ``size_band`` may take.
SIZE_BANDS = (
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
)

# ISO 3166-1 alpha-2 codes: CLDR's territories minus its regions, exceptional reservations
# (AC, CP, DG, EA, IC, TA), groupings (EU, EZ, UN, QO), pseudo-locales and the unknown (ZZ).
_NOT_ISO = {
    "AC",
    "CP",
    "CQ",
    "DG",
    "EA",
    "EU",
    "EZ",
    "IC",
    "QO",
    "TA",
    "UN",
    "XA",
    "XB",
    "XK",
    "ZZ",
}
COUNTRIES = (
    frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())
    - _NOT_ISO
)


def country_code(text: str | None) -> str | None:
    """``text`` as an ISO 3166-1 alpha-2 code (``de`` -> ``DE``), or None when it is not one."""
    code = (text or "").strip().upper()
    return code if code in COUNTRIES else None


# Mailbox providers anyone can sign up to: the address's domain names no company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "msn.com", "passport.com", "ymail.com", "rocketmail.com",
        "icloud.com", "me.com", "mac.com", "web.de", "proton.me", "protonmail.com",
        "protonmail.ch", "pm.me", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru",
        "internet.ru", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com",
        "sohu.com", "aliyun.com", "t-online.de", "freenet.de", "arcor.de", "posteo.de",
        "mailbox.org", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net",
        "neuf.fr", "libero.it", "virgilio.it", "tiscali.it", "alice.it", "tin.it",
        "rediffmail.com", "zoho.com", "zohomail.com", "zohomail.eu", "tutanota.com",
        "tutanota.de", "tuta.io", "tuta.com", "fastmail.com", "fastmail.fm", "hey.com",
        "mail.com", "email.com", "usa.com", "naver.com", "daum.net", "hanmail.net",
        "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "btinternet.com", "sky.com",
        "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net",
        "charter.net", "earthlink.net", "bigpond.com", "optusnet.com.au", "shaw.ca",
        "rogers.com", "sympatico.ca", "uol.com.br", "bol.com.br", "terra.com.br", "ig.com.br",
        "bluewin.ch", "hispeed.ch", "telenet.be", "skynet.be", "ziggo.nl", "kpnmail.nl",
        "planet.nl", "xs4all.nl", "telia.com", "online.no", "abv.bg", "rambler.ru",
        "ukr.net", "i.ua", "gmx.com", "gmx.net", "yandex.com", "lycos.com", "juno.com",
        "netzero.net", "hushmail.com", "inbox.com", "mailfence.com", "disroot.org",
        "duck.com", "yopmail.com", "guerrillamail.com", "mailinator.com",
        # SIMULATED: the simulated world's private clients write from this mailbox provider.
        "mail.example",
    }
)  # fmt: skip
# Brands with a domain per country (yahoo.co.uk, gmx.at, hotmail.fr): the first label decides.
FREE_MAIL_BRANDS = frozenset(
    {"yahoo", "hotmail", "outlook", "live", "windowslive", "aol", "gmx", "yandex", "protonmail"}
)
# Top-level domains that are never a company's public address (RFC 2606/6761, private use).
RESERVED_TLDS = frozenset(
    {"localhost", "local", "invalid", "test", "internal", "lan", "home", "corp", "onion", "arpa"}
)
MAX_DOMAIN = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(text: str) -> str | None:
    """``text`` as a lower-case public domain (IDN in its ``xn--`` form), or None when it is not
    one: an IP address, a single label, a reserved TLD, bad characters, too long."""
    host = (text or "").strip().lower().rstrip(".")
    if not host or len(host) > MAX_DOMAIN or any(c.isspace() or c in "/@:\\" for c in host):
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    tld = labels[-1]
    if tld in RESERVED_TLDS or not (tld.isalpha() or tld.startswith("xn--")) or len(tld) < 2:
        return None
    return host


def is_free_mail(domain: str) -> bool:
    """Whether ``domain`` (normalized) belongs to a mailbox provider, not to a company."""
    labels = domain.split(".")
    for i in range(len(labels) - 1):  # the domain or any parent (mx.gmail.com -> gmail.com)
        if ".".join(labels[i:]) in FREE_MAIL_DOMAINS:
            return True
    # yahoo.com, yahoo.co.uk, gmx.at: a brand followed by one or two suffix labels.
    return 2 <= len(labels) <= 3 and labels[0] in FREE_MAIL_BRANDS


def company_domain(email: str | None) -> str | None:
    """The company domain a billing e-mail reveals, or None (no address, free-mail, invalid)."""
    local, at, host = (email or "").strip().rpartition("@")
    if not at or not local:
        return None
    domain = normalize_domain(host)
    if domain is None or is_free_mail(domain):
        return None
    return domain


MAX_TEXT = {"company_name": 200, "industry": 100, "logo_url": 500}
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_PHONE = re.compile(r"(?:\+?\d[\s().-]?){7,}")  # seven or more digits, however grouped
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any, limit: int) -> str | None:
    """A one-line text of at most ``limit`` characters with no e-mail, phone number or link."""
    if not isinstance(value, str) or _CONTROL.search(value):  # a line break is no name's
        return None
    text = " ".join(value.split())
    if not text or len(text) > limit:
        return None
    if _EMAIL.search(text) or _PHONE.search(text) or "://" in text:
        return None
    return text


def _https_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value.strip()) > MAX_TEXT["logo_url"]:
        return None
    url = value.strip()
    if not url or any(c.isspace() for c in url) or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return url


def clean_fact(field: str, value: Any) -> str | None:
    """``value`` as a storable fact of ``field``, or None when it may not be stored: an unknown
    field, the wrong type, too long, not in the fixed list (size band, country), not https (logo),
    or a text carrying something personal (an e-mail address, a phone number, a link)."""
    if field == "domain":
        domain = normalize_domain(value) if isinstance(value, str) else None
        return None if domain is None or is_free_mail(domain) else domain
    if field in ("company_name", "industry"):
        return _text(value, MAX_TEXT[field])
    if field == "size_band":
        band = value.strip().lower().replace(" ", "") if isinstance(value, str) else None
        return band if band in SIZE_BANDS else None
    if field == "country":
        return country_code(value) if isinstance(value, str) else None
    if field == "logo_url":
        return _https_url(value)
    return None


def expected_form(field: str) -> str:
    """What a storable ``field`` looks like, for a person whose value was refused."""
    forms = {
        "company_name": f"one line of at most {MAX_TEXT['company_name']} characters",
        "industry": f"one line of at most {MAX_TEXT['industry']} characters",
        "domain": "a company's public domain such as acme.com (not a free-mail one)",
        "size_band": f"one of {', '.join(SIZE_BANDS)}",
        "country": "an ISO 3166 alpha-2 code such as DE",
        "logo_url": f"an https URL of at most {MAX_TEXT['logo_url']} characters",
    }
    text = forms.get(field, f"one of the fields {', '.join(FIELDS)}")
    if field in ("company_name", "industry"):
        text += " with no e-mail address, phone number or link"
    return text


@dataclass(frozen=True)
class Company:
    """What a provider knows about a company: each field a validated value or None."""

    domain: str
    company_name: str | None = None
    industry: str | None = None
    size_band: str | None = None
    country: str | None = None
    logo_url: str | None = None

    def facts(self) -> dict[str, str]:
        """The known fields, by ``FIELDS`` name."""
        values = {name: getattr(self, name) for name in FIELDS}
        return {name: value for name, value in values.items() if value is not None}


LookupStatus = Literal["found", "not_found", "error", "unavailable"]


@dataclass(frozen=True)
class Lookup:
    """A provider's answer about one domain.

    ``error``: it could not answer (after its retries), ``unavailable``: it was not asked (the
    circuit breaker is open). Neither is cached, so the next run asks again. ``cached``: the
    answer came from ``provider_lookups``; ``requests``: HTTP requests this lookup made;
    ``fetched_at`` (UTC): when the provider said so (a cached answer keeps its original time).
    """

    status: LookupStatus
    company: Company | None = None
    cached: bool = False
    requests: int = 0
    error: str | None = None
    fetched_at: datetime | None = None  # None: now (the offline provider's answer is timeless)


class CompanyProvider(Protocol):
    """Anything that answers "which company is behind this domain?"."""

    name: str  # customer_facts.source and provider_lookups.provider (<= 32 characters)

    @property
    def breaker_state(self) -> str: ...  # closed | open | half_open

    def lookup(self, domain: str) -> Lookup: ...

    def close(self) -> None: ...


class OfflineProvider:
    """No network: the company is known by its domain and nothing more."""

    name = "offline"
    breaker_state = "closed"

    def lookup(self, domain: str) -> Lookup:
        return Lookup("found", Company(domain=domain))

    def close(self) -> None:
        pass
