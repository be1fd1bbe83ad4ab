"""Name pools for the synthetic population.

Belgian and other EU names come from Faker's locale tables (fr_BE, nl_BE, fr_FR, ...), sampled
with numpy so that ten thousand persons take milliseconds. Faker has no Latin-script tables for
the main non-EU origins of people met by Walloon homeless services (Maghreb, Central and West
Africa, the Middle East, Afghanistan, Eritrea, Turkey, Ukraine), so short transliterated lists are
kept here, in the French spellings a Belgian service would type. Every name is made encodable in
Windows-1252, as the shelter's and the DUS's software would store it.
"""

from __future__ import annotations

import importlib
import unicodedata
from functools import cache

import numpy as np
from faker import Faker

__all__ = [
    "BULGARIA",
    "CENTRAL_WEST_AFRICA",
    "COUNTRY_SOURCES",
    "ERITREA",
    "MAGHREB",
    "MIDDLE_EAST_AFGHANISTAN",
    "TURKEY",
    "UKRAINE",
    "NamePool",
    "cp1252_safe",
    "draw_names",
    "faker_pool",
    "list_pool",
    "pool_for",
]

# Characters outside Windows-1252 that do not decompose to a base letter + accent.
_EXTRA_TRANSLIT = str.maketrans(
    {"ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ħ": "h", "ŧ": "t", "˜": ""}
)


def cp1252_safe(text: str) -> str:
    """Keep accents Windows-1252 can store (é, è, ë, ç, ñ, ö...), strip the others (ș → s)."""
    out = []
    for char in text.translate(_EXTRA_TRANSLIT):
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            try:
                base.encode("cp1252")
                out.append(base)
            except UnicodeEncodeError:
                continue
    return "".join(out)


def _split(text: str) -> tuple[str, ...]:
    """Names written as one comma-separated string (compact lists below)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


MAGHREB = {
    "surnames": _split(
        "El Amrani, Benali, Bouzid, El Idrissi, Haddou, Benchekroun, Amrani, Ouali, Zerrouki, "
        "Belkacem, Mansouri, Chaoui, Bennani, El Ouardi, Tahiri, Boukhari, Aït Ali, Benyahia, "
        "Lahlou, Rahmouni, Saïdi, Ben Salah, Hamdi, Trabelsi, Gharbi, Jebali, Messaoudi, "
        "Kaddouri, Ziani, Bouazza, El Khattabi, Azzouzi, Boulahrouz, Hajji, Ouazzani, Bakkali, "
        "Cherkaoui, El Haddad, Mekki, Slimani"
    ),
    "male": _split(
        "Mohamed, Mohammed, Ahmed, Youssef, Karim, Rachid, Said, Abdelkader, Mustapha, Hicham, "
        "Nordine, Khalid, Bilal, Mehdi, Samir, Omar, Yassine, Hamza, Ilyas, Anouar, Brahim, "
        "Driss, Abdelaziz, Redouane, Soufiane"
    ),
    "female": _split(
        "Fatima, Khadija, Aïcha, Nadia, Samira, Malika, Naïma, Souad, Imane, Yasmina, Leïla, "
        "Meryem, Latifa, Zineb, Hanane"
    ),
}
CENTRAL_WEST_AFRICA = {
    "surnames": _split(
        "Mbuyi, Kabongo, Tshibangu, Ilunga, Mukendi, Kalonji, Nkulu, Lukusa, Mwamba, Kasongo, "
        "Mputu, Ngoy, Diallo, Barry, Bah, Sow, Camara, Condé, Keita, Touré, Bangoura, Soumah, "
        "Kouyaté, Cissé"
    ),
    "male": _split(
        "Patrick, Jean-Claude, Christian, Gloire, Dieudonné, Junior, Serge, Mamadou, Alpha, "
        "Ibrahima, Oumar, Abdoulaye, Thierno, Moussa, Papy"
    ),
    "female": _split(
        "Grace, Merveille, Aissatou, Mariama, Fatoumata, Kadiatou, Bénédicte, Esther, "
        "Nathalie, Divine"
    ),
}
MIDDLE_EAST_AFGHANISTAN = {
    "surnames": _split(
        "Al Hassan, Haddad, Khalil, Najjar, Darwish, Al Khatib, Hamoud, Suleiman, Ahmadi, "
        "Rahimi, Karimi, Hakimi, Sultani, Nazari, Mohammadi, Hosseini, Noori, Safi, Popal, "
        "Wardak"
    ),
    "male": _split(
        "Ahmad, Omar, Ali, Hassan, Hussein, Mustafa, Khaled, Mohammad, Abdullah, Rahmatullah, "
        "Zabihullah, Farid, Jawad, Bilal, Yasin"
    ),
    "female": _split("Fatemeh, Zahra, Mariam, Layla, Nour, Rana, Shirin, Hawa"),
}
ERITREA = {
    "surnames": _split(
        "Tesfaye, Haile, Berhane, Gebremedhin, Tekle, Kidane, Ghebreyesus, Mehari, "
        "Tesfamariam, Woldu, Habte, Zerai"
    ),
    "male": _split("Yonas, Dawit, Samuel, Filmon, Robel, Merhawi, Amanuel, Natnael"),
    "female": _split("Senait, Helen, Mebrat, Selam, Luwam, Saba"),
}
TURKEY = {
    "surnames": _split(
        "Yilmaz, Kaya, Demir, Sahin, Çelik, Yildiz, Öztürk, Aydin, Arslan, Dogan, Kiliç, "
        "Aslan, Korkmaz, Özdemir"
    ),
    "male": _split("Mehmet, Mustafa, Ahmet, Ali, Hüseyin, Emre, Murat, Hasan, Ibrahim"),
    "female": _split("Ayse, Fatma, Emine, Zeynep, Elif, Hatice, Merve"),
}
UKRAINE = {
    "surnames": _split(
        "Kovalenko, Bondarenko, Tkachenko, Kravchenko, Shevchenko, Melnyk, Boyko, Kovalchuk, "
        "Oliynyk, Lysenko, Marchenko, Savchenko, Rudenko, Moroz"
    ),
    "male": _split("Oleksandr, Andriy, Dmytro, Serhiy, Volodymyr, Mykola, Ivan, Yuriy"),
    "female": _split("Olena, Natalia, Iryna, Tetiana, Oksana, Yulia, Svitlana"),
}
BULGARIA = {
    "surnames": _split(
        "Ivanov, Petrov, Georgiev, Dimitrov, Nikolov, Stoyanov, Todorov, Angelov, Kolev, Yordanov"
    ),
    "male": _split("Ivan, Georgi, Dimitar, Nikolay, Stefan, Hristo, Petar, Todor"),
    "female": _split("Maria, Elena, Ivanka, Desislava, Galina, Radka"),
}

# Where each country's names come from: a Faker locale or one of the lists above.
COUNTRY_SOURCES: dict[str, str | dict[str, tuple[str, ...]]] = {
    "FR": "fr_FR", "NL": "nl_NL", "IT": "it_IT", "ES": "es_ES", "PT": "pt_PT", "RO": "ro_RO",
    "PL": "pl_PL", "DE": "de_DE", "BG": BULGARIA, "MA": MAGHREB, "DZ": MAGHREB, "TN": MAGHREB,
    "CD": CENTRAL_WEST_AFRICA, "GN": CENTRAL_WEST_AFRICA, "SY": MIDDLE_EAST_AFGHANISTAN,
    "AF": MIDDLE_EAST_AFGHANISTAN, "ER": ERITREA, "TR": TURKEY, "UA": UKRAINE,
}  # fmt: skip


class NamePool:
    """Weighted lists of surnames and male/female first names for one origin."""

    def __init__(
        self, surnames: dict[str, float], male: dict[str, float], female: dict[str, float]
    ):
        self._parts = {
            "surname": _to_arrays(surnames),
            "M": _to_arrays(male),
            "F": _to_arrays(female),
        }

    def draw(self, kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` names of ``kind`` ("surname", "M" or "F"), drawn with the pool's weights."""
        names, cumulative = self._parts[kind]
        picks = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
        return names[np.minimum(picks, len(names) - 1)]


def _to_arrays(weighted: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    names = np.array([cp1252_safe(name) for name in weighted], dtype=object)
    return names, np.cumsum(np.fromiter(weighted.values(), dtype=float))


def _weighted(table: object) -> dict[str, float]:
    if isinstance(table, dict):
        return {str(k): float(v) for k, v in table.items()}
    return dict.fromkeys((str(name) for name in table), 1.0)  # type: ignore[union-attr]


@cache
def faker_pool(locale: str) -> NamePool:
    """A pool from Faker's person tables for ``locale`` (weights kept where Faker has them)."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    tables = {}
    for attribute in ("last_names", "first_names_male", "first_names_female"):
        table = getattr(provider, attribute, None)
        if table is None or len(table) < 20:
            # Some locales build names from formats (pl_PL surnames): draw a fixed pool instead.
            fake = Faker(locale)
            fake.seed_instance(0)
            method = {
                "last_names": fake.last_name,
                "first_names_male": fake.first_name_male,
                "first_names_female": fake.first_name_female,
            }[attribute]
            table = sorted({method() for _ in range(300)})
        tables[attribute] = _weighted(table)
    return NamePool(tables["last_names"], tables["first_names_male"], tables["first_names_female"])


@cache
def list_pool(country: str) -> NamePool:
    """A pool from the transliterated lists kept in this module."""
    source = COUNTRY_SOURCES[country]
    assert isinstance(source, dict)
    return NamePool(
        _weighted(source["surnames"]), _weighted(source["male"]), _weighted(source["female"])
    )


def pool_for(country: str) -> NamePool:
    """The name pool of a country code (BE is handled by :func:`draw_names`)."""
    source = COUNTRY_SOURCES[country]
    return faker_pool(source) if isinstance(source, str) else list_pool(country)


def _compound(first: np.ndarray, second: np.ndarray, joiner: str) -> np.ndarray:
    return np.array([f"{a}{joiner}{b}" for a, b in zip(first, second, strict=True)], dtype=object)


def draw_names(
    country: np.ndarray, sex: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True surnames and first names for persons of the given countries and sexes.

    Belgians of a Walloon city carry French and Flemish surnames alike (fr_BE / nl_BE), with
    mostly French first names. A few carry hyphenated compound surnames; Spanish and Portuguese
    persons often carry two surnames. Unknown nationality draws names from every origin.
    """
    n = len(country)
    surname = np.empty(n, dtype=object)
    first = np.empty(n, dtype=object)
    # Persons of unknown nationality still have a name: take it from a plausible origin.
    origin = country.astype(object).copy()
    unknown = np.flatnonzero(origin == "")
    origin[unknown] = rng.choice(
        np.array(["BE", "FR", "RO", "MA", "CD", "AF", "ER", "UA"], dtype=object),
        size=len(unknown),
        p=[0.2, 0.1, 0.1, 0.25, 0.1, 0.1, 0.1, 0.05],
    )
    sex_key = np.where(sex == "F", "F", "M")
    # Persons of sex X get a first name of either form.
    other = np.flatnonzero(sex == "X")
    sex_key[other] = np.where(rng.random(len(other)) < 0.5, "F", "M")

    for code in sorted(set(origin.tolist())):
        idx = np.flatnonzero(origin == code)
        if code == "BE":
            flemish = rng.random(len(idx)) < 0.45
            surname[idx] = np.where(
                flemish,
                faker_pool("nl_BE").draw("surname", len(idx), rng),
                faker_pool("fr_BE").draw("surname", len(idx), rng),
            )
            flemish_first = rng.random(len(idx)) < 0.15
            pools = (faker_pool("fr_BE"), faker_pool("nl_BE"))
        else:
            pools = (pool_for(code), pool_for(code))
            flemish_first = np.zeros(len(idx), dtype=bool)
            surname[idx] = pools[0].draw("surname", len(idx), rng)
        for key in ("M", "F"):
            sel = sex_key[idx] == key
            drawn = np.where(
                flemish_first[sel],
                pools[1].draw(key, int(sel.sum()), rng),
                pools[0].draw(key, int(sel.sum()), rng),
            )
            first[idx[sel]] = drawn
        # Compound surnames: hyphenated (BE/FR) or two Iberian surnames.
        share, joiner = {
            "ES": (0.6, " "),
            "PT": (0.4, " "),
            "BE": (0.04, "-"),
            "FR": (0.04, "-"),
        }.get(code, (0.0, ""))
        if share:
            comp = idx[rng.random(len(idx)) < share]
            second = (
                pools[0].draw("surname", len(comp), rng)
                if code != "BE"
                else (faker_pool("fr_BE").draw("surname", len(comp), rng))
            )
            keep = second != surname[comp]
            comp, second = comp[keep], second[keep]
            surname[comp] = _compound(surname[comp], second, joiner)
    return surname, first
