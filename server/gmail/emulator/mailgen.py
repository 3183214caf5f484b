"""Building blocks for generated mailboxes: people, companies, and Gmail-shaped messages.

Used by `demo_mailbox` for the demo and the large benchmark mailbox. Everything is
driven by a seeded `random.Random`; nothing reads the wall clock.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime
from typing import Any

REP_DOMAIN = "northwind-demo.com"
FIRST_NAMES = (
    "Dana", "Marcus", "Priya", "Tomás", "Ingrid", "Kwame", "Lena", "Rafael", "Hannah", "Yusuf",
    "Chloé", "Jürgen", "Zoë", "Siobhán", "Mateo", "Aisha", "Björn", "Ayşe", "Noah", "Camille",
    "Oluwaseun", "Mei", "Arjun", "Elif", "Grace", "Luca", "Nadia", "Owen", "Sofia", "Viktor",
    "Renée", "Dmitri", "Fatima", "Henrik", "Imani", "Joaquín", "Keiko", "Mariana", "Pádraig",
    "Quinn",
)
LAST_NAMES = (
    "Whitfield", "Okonkwo", "Natarajan", "Núñez", "Lindqvist", "Mensah", "Hoffmann", "Castillo",
    "Brennan", "Demir", "Dubois", "Weiß", "Kowalczyk", "Ó Briain", "Ferreira", "Rahman",
    "Åkesson", "Yılmaz", "Carter", "Moreau", "Adébáyọ̀", "Zhang", "Mehta", "Aydın", "Osei",
    "Romano", "Haddad", "Pryce", "Santos", "Novak", "Lefèvre", "Volkov", "Farouk", "Sørensen",
    "Mwangi", "Ibáñez", "Tanaka", "Oliveira", "Gallagher", "Reyes",
)
COMPANY_STEMS = (
    "Alderbrook", "Bluefinch", "Cobalt Ridge", "Driftwood", "Emberline", "Fernhollow", "Glassport",
    "Harborlight", "Ironbark", "Juniper Vale", "Kestrel", "Lanternfish", "Marrowstone", "Northgale",
    "Oakhaven", "Pinecrest", "Quillfeather", "Redcliff", "Saltmarsh", "Tidewater", "Umberfield",
    "Violet Hill", "Westerly", "Yarrowby", "Zephyr Point", "Brightwater", "Copperleaf",
    "Duskmoor", "Elmstead", "Foxglove",
)
COMPANY_KINDS = (
    "Logistics", "Health", "Foods", "Analytics", "Robotics", "Outfitters", "Insurance", "Energy",
    "Biotech", "Freight", "Hotels", "Credit Union", "Manufacturing", "Learning", "Retail",
)
TLDS = (".example", ".test")
# Offsets for people's Date headers; the rep's own mail uses New York time (EST, no DST math).
OFFSETS = tuple(timezone(timedelta(hours=h, minutes=m))
                for h, m in ((-8, 0), (-6, 0), (-5, 0), (0, 0), (1, 0), (2, 0), (5, 30), (9, 0)))
REP_TZ = timezone(timedelta(hours=-5))


@dataclass(frozen=True)
class Person:
    """Somebody with a display name and an address."""

    name: str
    email: str
    tz: timezone = UTC
    raw: str | None = None  # exact header text to use instead of formatting name + email

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    def header(self) -> str:
        """Format for a From/To/Cc header (quoting specials, keeping Unicode readable)."""
        if self.raw is not None:
            return self.raw
        if not self.name:
            return self.email
        if re.search(r'[()<>\[\]:;@\\,."]', self.name):
            quoted = self.name.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{quoted}" <{self.email}>'
        return f"{self.name} <{self.email}>"


def ascii_slug(text: str, sep: str = "") -> str:
    """Lower-case ASCII form of a name, for addresses and domains."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("ı", "i")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", sep, plain.lower()).strip(sep)


def encoded_word(name: str, email: str) -> str:
    """A From value whose display name is an RFC 2047 encoded word, as some mailers send."""
    return f"{Header(name, 'utf-8').encode()} <{email}>"


@dataclass
class Company:
    """An invented customer organisation and the people we meet there."""

    name: str
    domain: str
    people: list[Person]


def make_company(rng: random.Random, stem: str) -> Company:
    """Invent a company with three or four contacts."""
    kind = rng.choice(COMPANY_KINDS)
    name = f"{stem} {kind}"
    domain = f"{ascii_slug(stem, '')}-{ascii_slug(kind, '')}{rng.choice(TLDS)}"
    tz = rng.choice(OFFSETS)
    people: list[Person] = []
    used: set[str] = set()
    while len(people) < rng.randint(3, 4):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        style = rng.randrange(3)
        local = {0: f"{ascii_slug(first)}.{ascii_slug(last)}",
                 1: f"{ascii_slug(first)[0]}{ascii_slug(last)}",
                 2: ascii_slug(first)}[style]
        if local in used:
            continue
        used.add(local)
        people.append(Person(f"{first} {last}", f"{local}@{domain}", tz))
    return Company(name, domain, people)


@dataclass
class Spec:
    """One message before ids and history ids are assigned."""

    when: datetime
    sender: Person
    to: list[Person]
    cc: list[Person] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    subject: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)
    mime: str = "multipart/alternative"
    date_header: str = "ok"  # ok | missing | wrong


@dataclass
class ThreadPlan:
    """The messages of one thread plus how to list them and what it demonstrates."""

    specs: list[Spec]
    tags: list[str]
    shuffled: bool = False


def gmail_id(when: datetime, rng: random.Random, used: set[str]) -> str:
    """A 16-hex-digit id whose high bits follow the time, like Gmail's."""
    ms = int(when.timestamp() * 1000)
    while True:
        ident = f"{(ms << 20) | rng.getrandbits(20):016x}"
        if ident not in used:
            used.add(ident)
            return ident


def _headers(spec: Spec, message_id: str, parent: str | None) -> list[dict[str, str]]:
    pairs: list[tuple[str, str]] = [("From", spec.sender.header())]
    if spec.to:
        pairs.append(("To", ", ".join(p.header() for p in spec.to)))
    if spec.cc:
        pairs.append(("Cc", ", ".join(p.header() for p in spec.cc)))
    pairs.append(("Subject", spec.subject))
    if spec.date_header == "ok":
        pairs.append(("Date", format_datetime(spec.when.astimezone(spec.sender.tz))))
    elif spec.date_header == "wrong":
        pairs.append(("Date", "Thu, 01 Jan 1998 00:00:00 +0000"))
    pairs.append(("Message-ID", message_id))
    if parent is not None:
        pairs.append(("In-Reply-To", parent))
    pairs.extend(spec.extra)
    return [{"name": n, "value": v} for n, v in pairs]


def _message_id(spec: Spec, rng: random.Random) -> str:
    host = "mail.gmail.com" if spec.sender.domain == REP_DOMAIN else spec.sender.domain
    return f"<{rng.getrandbits(64):x}.{rng.getrandbits(24):x}@{host}>"


def assemble(email: str, plans: list[ThreadPlan], rng: random.Random, first_history: int
             ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Turn thread plans into a mailbox-file dict (newest thread first) and a tag map."""
    used: set[str] = set()
    ordered = sorted((s.when, ti, si) for ti, p in enumerate(plans)
                     for si, s in enumerate(p.specs))
    history: dict[tuple[int, int], int] = {}
    counter = first_history
    for _when, ti, si in ordered:
        counter += rng.randint(1, 60)  # other activity moves Gmail's counter too
        history[(ti, si)] = counter
    dated: list[tuple[datetime, dict[str, Any]]] = []
    tags: dict[str, list[str]] = {}
    for ti, plan in enumerate(plans):
        specs = sorted(enumerate(plan.specs), key=lambda pair: pair[1].when)
        messages: list[dict[str, Any]] = []
        parent: str | None = None
        for si, spec in specs:
            ident = gmail_id(spec.when, rng, used)
            tid = messages[0]["threadId"] if messages else ident
            message_id = _message_id(spec, rng)
            messages.append({
                "id": ident,
                "threadId": tid,
                "labelIds": list(spec.labels),
                "snippet": "",
                "historyId": str(history[(ti, si)]),
                "internalDate": str(int(spec.when.timestamp() * 1000)),
                "sizeEstimate": rng.randint(2_000, 60_000),
                "payload": {"partId": "", "mimeType": spec.mime, "filename": "",
                            "headers": _headers(spec, message_id, parent)},
            })
            parent = message_id
        if plan.shuffled:
            messages.reverse()  # Gmail lists oldest first; some sources list newest first
        tid = messages[0]["threadId"]
        thread = {"id": tid, "historyId": str(max(history[(ti, si)] for si, _ in specs)),
                  "messages": messages}
        dated.append((max(s.when for s in plan.specs), thread))
        tags[tid] = list(plan.tags)
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return {"emailAddress": email, "historyId": str(counter + rng.randint(1, 60)),
            "threads": [thread for _, thread in dated]}, tags
