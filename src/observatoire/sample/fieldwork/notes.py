"""French free-text notes of the field forms, some carrying planted identities.

Workers write short notes in the field vocabulary of the sector; a share of them carry what a
note must not keep: a name (drawn from the names written in the sample's own contact exports
— the project's « keyed lists » — or a name absent from them), a Belgian phone number, a birth
date, a national register number (valid mod-97 check digits), a street address, an e-mail.
Every planted identity is recorded with its exact span (the de-identification bench measures
recall on it): :class:`Identity` rows become ``sample_truth/notes_identites.csv``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np

from observatoire.core.free_text import ADDRESS, BIRTH_DATE, EMAIL, NAME, NATIONAL_NUMBER, PHONE
from observatoire.sample.names import faker_pool

__all__ = ["IDENTITY_COLUMNS", "Identity", "NameBook", "NoteWriter", "national_number"]

IDENTITY_COLUMNS = [
    "source_file",
    "sheet",
    "source_row",
    "column",
    "kind",
    "text",
    "start",
    "end",
    "in_keyed_list",
]

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
STREETS = (
    "rue de Fer",
    "rue des Tanneurs",
    "rue Saint-Nicolas",
    "rue de Bruxelles",
    "rue Godefroid",
    "rue des Brasseurs",
    "rue Rogier",
    "rue de la Croix",
    "avenue de la Gare",
    "avenue Prince de Liège",
    "avenue Cardinal Mercier",
    "chaussée de Louvain",
    "chaussée de Waterloo",
    "boulevard du Nord",
    "boulevard Cauchy",
    "place d'Armes",
    "place Saint-Aubain",
    "quai de Meuse",
    "rue Bas de la Place",
    "rue Émile Cuvelier",
    "rue des Carmes",
    "rue Lelièvre",
    "rue du Lombard",
    "rue de l'Ange",
)
POSTCODES = ("5000 Namur", "5002 Saint-Servais", "5100 Jambes", "5020 Flawinne", "5004 Bouge")
MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.be", "skynet.be", "yahoo.fr", "live.be")
MOBILE_PREFIXES = (70, 71, 72, 73, 75, 76, 77, 78, 79, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95)
OTHER_LOCALES = ("fr_FR", "it_IT", "es_ES", "de_DE", "nl_NL", "pt_PT", "en_GB", "pl_PL")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tokens(name: str) -> list[str]:
    return [t for t in _fold(name).replace("-", " ").replace("'", " ").split() if t]


def national_number(birth: dt.date, sequence: int) -> str:
    """A Belgian national register number ``yy.mm.dd-sss.cc`` with valid mod-97 digits."""
    body = f"{birth:%y%m%d}{sequence:03d}"
    base = int(("2" if birth.year >= 2000 else "") + body)
    check = 97 - base % 97
    return f"{body[:2]}.{body[2:4]}.{body[4:6]}-{body[6:9]}.{check:02d}"


@dataclass(frozen=True)
class Identity:
    """One planted identity, located in its note (``start``/``end``: character offsets)."""

    kind: str
    text: str
    start: int
    end: int
    in_keyed_list: bool


class NameBook:
    """Names to plant: those written in the contact exports (the keyed lists are built from
    them) and names none of whose words appear there."""

    def __init__(self, export_names: list[tuple[str, str]], rng: np.random.Generator) -> None:
        seen = {(s.strip(), f.strip()) for s, f in export_names if s and f}
        self.keyed = sorted((_title(s), _title(f)) for s, f in seen)
        self._tokens = {t for s, f in seen for t in _tokens(s) + _tokens(f)}
        absent = set()
        for locale in OTHER_LOCALES:
            pool = faker_pool(locale)
            surnames = pool.draw("surname", 60, rng)
            firsts = pool.draw("M" if locale < "fr" else "F", 60, rng)
            for s, f in zip(surnames, firsts, strict=True):
                if not any(t in self._tokens for t in _tokens(s) + _tokens(f)):
                    absent.add((str(s), str(f)))
        self.absent = sorted(absent)

    def in_keyed_list(self, name: str) -> bool:
        return all(t in self._tokens for t in _tokens(name))


def _title(name: str) -> str:
    """« DUPONT » / « dupont » → « Dupont » (compounds too); mixed case is kept (« Van Damme »)."""

    def part(word: str) -> str:
        return word[:1].upper() + word[1:].lower() if word.isupper() or word.islower() else word

    return " ".join("-".join(part(p) for p in w.split("-")) for w in name.split())


class NoteWriter:
    """Assembles notes from sentences and plants identities at a given rate."""

    def __init__(self, names: NameBook, rng: np.random.Generator) -> None:
        self.names = names
        self.rng = rng

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def name(self, keyed: bool) -> tuple[str, str, bool]:
        """(written form, the name's span in it, every word of the name in the keyed lists)."""
        book = self.names.keyed if keyed else self.names.absent
        surname, first = book[int(self.rng.integers(len(book)))]
        style = int(self.rng.integers(5))
        if style == 0:
            span = f"{first} {surname}"
        elif style == 1:
            span = f"{surname.upper()} {first}"
        elif style == 2:
            span = surname
        elif style == 3:
            span = f"{first} {surname}"
        else:
            span = f"{first} {surname.upper()}"
        title = {2: ("Mme", "M."), 3: ("Madame", "Monsieur")}.get(style)
        text = f"{title[0] if self.rng.random() < 0.4 else title[1]} {span}" if title else span
        return text, span, self.names.in_keyed_list(span)

    def phone(self) -> str:
        r = self.rng
        digits = "".join(str(d) for d in r.integers(0, 10, 6))
        mobile = f"04{int(r.choice(MOBILE_PREFIXES))}"
        fixed = self.pick(["081", "071", "010", "02", "04"])
        style = int(r.integers(6))
        if style == 0:
            return f"{mobile} {digits[:2]} {digits[2:4]} {digits[4:]}"
        if style == 1:
            return f"{mobile}/{digits[:2]}.{digits[2:4]}.{digits[4:]}"
        if style == 2:
            return f"+32 {mobile[1:]} {digits[:2]} {digits[2:4]} {digits[4:]}"
        if style == 3:
            return f"0032{mobile[1:]}{digits}"
        if style == 4:
            rest = "".join(str(d) for d in r.integers(0, 10, 9 - len(fixed)))
            if len(fixed) == 3:
                return f"{fixed}/{rest[:2]}.{rest[2:4]}.{rest[4:]}"
            return f"{fixed} {rest[:3]} {rest[3:5]} {rest[5:]}"
        return f"{mobile}{digits}"

    def birth(self) -> tuple[dt.date, str]:
        r = self.rng
        born = dt.date(int(r.integers(1950, 2008)), int(r.integers(1, 13)), int(r.integers(1, 29)))
        style = int(r.integers(3))
        if style == 0:
            return born, f"{born:%d/%m/%Y}"
        if style == 1:
            return born, f"{born.day} {MONTHS[born.month - 1]} {born.year}"
        return born, f"{born:%d.%m.%Y}"

    def address(self) -> str:
        r = self.rng
        street, number = self.pick(STREETS), int(r.integers(1, 180))
        box = f"/{int(r.integers(1, 9))}" if r.random() < 0.2 else ""
        town = f", {self.pick(POSTCODES)}" if r.random() < 0.35 else ""
        if r.random() < 0.25:
            return f"{number}{box}, {street}{town}"
        return f"{street} {number}{box}{town}"

    def email(self) -> str:
        surname, first = self.names.absent[int(self.rng.integers(len(self.names.absent)))]
        local = _fold(f"{first}.{surname}").replace(" ", "").replace("'", "")
        if self.rng.random() < 0.5:
            local += str(int(self.rng.integers(10, 99)))
        return f"{local}@{self.pick(MAIL_DOMAINS)}"

    def identity_snippet(self) -> tuple[str, list[tuple[str, str, bool]]]:
        """A phrase carrying one or two identities: (phrase, [(kind, span, in_keyed_list)])."""
        r = self.rng
        kind = r.choice(
            ["name", "name_birth", "phone", "birth", "nrn", "address", "email", "name_phone"],
            p=[0.30, 0.12, 0.14, 0.08, 0.08, 0.12, 0.06, 0.10],
        )
        keyed = r.random() < 0.7
        if kind == "name":
            name, span, listed = self.name(keyed)
            phrase = self.pick(
                [
                    "{} était présent",
                    "accompagné de {}",
                    "selon {}",
                    "{} connu du service",
                    "il s'agit de {}",
                    "{} a témoigné",
                ]
            )
            return phrase.format(name), [(NAME, span, listed)]
        if kind == "name_birth":
            name, span, listed = self.name(keyed)
            _, born = self.birth()
            pre = self.pick(["né le", "née le", "°", "DDN"])
            return f"{name} ({pre} {born})", [(NAME, span, listed), (BIRTH_DATE, born, False)]
        if kind == "name_phone":
            name, span, listed = self.name(keyed)
            phone = self.phone()
            return f"{name}, joignable au {phone}", [(NAME, span, listed), (PHONE, phone, False)]
        if kind == "phone":
            phone = self.phone()
            phrase = self.pick(["numéro laissé : {}", "tél. {}", "rappeler au {}", "GSM {}"])
            return phrase.format(phone), [(PHONE, phone, False)]
        if kind == "birth":
            _, born = self.birth()
            pre = self.pick(["née le", "né le", "date de naissance :"])
            return f"personne {pre} {born}", [(BIRTH_DATE, born, False)]
        if kind == "nrn":
            born, _ = self.birth()
            number = national_number(born, int(r.integers(1, 999)))
            if r.random() < 0.3:
                number = number.replace(".", "").replace("-", "")
            pre = self.pick(["NN", "n° national", "registre national :"])
            return f"{pre} {number}", [(NATIONAL_NUMBER, number, False)]
        if kind == "address":
            address = self.address()
            pre = self.pick(["domicilié", "habite", "logement au", "adresse :"])
            return f"{pre} {address}", [(ADDRESS, address, False)]
        mail = self.email()
        return f"mail {mail}", [(EMAIL, mail, False)]

    def note(self, sentences: list[str], identity_rate: float) -> tuple[str, list[Identity]]:
        """Join sentences; with probability ``identity_rate`` insert one or two identity
        snippets as extra sentences, and return the note with its located identities."""
        parts: list[tuple[str, list[tuple[str, str, bool]]]] = [(s, []) for s in sentences]
        if self.rng.random() < identity_rate:
            for _ in range(1 if self.rng.random() < 0.8 else 2):
                phrase, spans = self.identity_snippet()
                at = int(self.rng.integers(0, len(parts) + 1))
                parts.insert(at, (phrase[:1].upper() + phrase[1:], spans))
        text, found = "", []
        for k, (phrase, spans) in enumerate(parts):
            sentence = phrase if phrase.endswith((".", "!", "?")) else phrase + "."
            if k:
                text += " "
            offset = len(text)
            text += sentence
            search_from = 0
            for kind, span, listed in spans:
                at = sentence.find(span, search_from)
                if at < 0 and span[:1].lower() + span[1:] != span:
                    at = sentence.find(span[:1].upper() + span[1:], search_from)
                    span = span[:1].upper() + span[1:]
                assert at >= 0, (sentence, span)
                found.append(Identity(kind, span, offset + at, offset + at + len(span), listed))
                search_from = at + len(span)
        return text, found
