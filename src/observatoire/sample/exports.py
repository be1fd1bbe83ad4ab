"""Partner exports: the simulated activity written as each partner's software writes it.

Each annual export holds the rows whose start date (entry, visit, contact, intervention) falls in
that year. Exit dates are filled when the stay ended by 31 December of the last year, and left
empty otherwise (the exports are all drawn as of that date). Rows carry the partner's registered
identity (with its noise), and each person-bearing row gets a ground-truth row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams, stream
from observatoire.sample.identity_noise import register_identities, strip_accents
from observatoire.sample.network import Network
from observatoire.sample.partner_formats import (
    COLUMNS,
    LOCAL_ID_FORMATS,
    name_case,
    nationality_labels,
    sex_labels,
)
from observatoire.sample.registrations import registrations_of, split_registrations

__all__ = [
    "DUS_HOURS",
    "DUS_HOUR_PROBABILITIES",
    "HOURS",
    "HOUR_WEIGHTS",
    "INITIALS_STYLES",
    "INITIALS_STYLE_PROBABILITIES",
    "MOTIVES",
    "NOISE_COLUMNS",
    "SERVICES_OF_VISIT",
    "SERVICE_PROBABILITIES",
    "STREET_INTERVENTIONS",
    "STREET_INTERVENTION_PROBABILITIES",
    "TRUTH_COLUMNS",
    "ZONES",
    "ZONE_PROBABILITIES",
    "CsvFormat",
    "ExportFile",
    "XlsxFormat",
    "build_exports",
]


@dataclass(frozen=True)
class CsvFormat:
    """Text export settings (as declared in the partner's mapping)."""

    encoding: str
    delimiter: str
    line_terminator: str = "\n"


@dataclass(frozen=True)
class XlsxFormat:
    """Workbook export settings: sheet name, header row (1-based) and the title block above it."""

    sheet: str
    header_row: int
    title: tuple[str, ...]


@dataclass
class ExportFile:
    """One annual export file, ready to be written, with its ground-truth rows."""

    partner_id: str
    export: str
    year: int
    relative_path: str
    table: pd.DataFrame
    fmt: CsvFormat | XlsxFormat
    truth: pd.DataFrame | None = field(default=None)


TRUTH_COLUMNS = [
    "source_file",
    "source_row",
    "true_person_id",
    "partner_id",
    "local_id_rank",
    "name_variant",
    "day_month_swap",
    "birth_date_missing",
    "true_birth_year",
    "true_sex",
]

NOISE_COLUMNS = ("name_variant", "day_month_swap", "birth_date_missing")

_CP1252_CSV = CsvFormat(encoding="cp1252", delimiter=";", line_terminator="\r\n")


def _decimal_comma(values: np.ndarray) -> np.ndarray:
    """Hours as a French spreadsheet writes them: 0,25 / 0,5 / 1 / 1,5."""
    return np.array([f"{v:g}".replace(".", ",") for v in values], dtype=object)


class _Builder:
    """Shared steps of every export: registrations, identity columns, yearly split, truth."""

    def __init__(self, network: Network, params: SampleParams) -> None:
        self.network = network
        self.params = params
        self.timeline = network.timeline
        self.persons = network.persons
        self._day_text: dict[str, np.ndarray] = {}

    def day_text(self, fmt: str) -> np.ndarray:
        """Per-day date strings in ``fmt`` (computed once per format)."""
        if fmt not in self._day_text:
            self._day_text[fmt] = self.timeline.format_days(fmt)
        return self._day_text[fmt]

    def register(
        self,
        partner: str,
        rows: pd.DataFrame,
        second_ids: bool = True,
        files_kept_before: bool = True,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Give every row a registration (local id, registered identity, partner labels)."""
        rng = stream(self.params.seed, f"registrations/{partner}")
        rows = rows.reset_index(drop=True).assign(seq=lambda r: np.arange(len(r)))
        share = self.params.noise.second_local_id if second_ids else 0.0
        rows["rank"] = split_registrations(rows, len(self.persons), share, rng)
        regs = registrations_of(rows, self.persons, self.timeline, rng, files_kept_before)
        regs = register_identities(
            regs, self.persons, self.params.noise, stream(self.params.seed, f"identity/{partner}")
        )
        who = regs["person"].to_numpy()
        regs["local_id"] = LOCAL_ID_FORMATS[partner](regs)
        regs["surname_out"], regs["first_name_out"] = name_case(
            partner,
            regs["surname"].to_numpy(dtype=object),
            regs["first_name"].to_numpy(dtype=object),
            stream(self.params.seed, f"case/{partner}"),
        )
        regs["sex_out"] = sex_labels(partner, self.persons["sex"].to_numpy()[who])
        regs["nationality_out"] = nationality_labels(
            partner, self.persons["country"].to_numpy(dtype=object)[who]
        )
        reg_key = pd.Index(regs["person"].to_numpy() * 4 + regs["rank"].to_numpy())
        rows["reg"] = reg_key.get_indexer(rows["person"].to_numpy() * 4 + rows["rank"].to_numpy())
        rows["sequence"] = regs["sequence"].to_numpy()[rows["reg"].to_numpy()]
        return rows, regs

    def birth_text(self, regs: pd.DataFrame, fmt: str) -> np.ndarray:
        """Registered birth dates as text ("" when missing)."""
        dates = regs["birth_date"].to_numpy().astype("datetime64[D]").tolist()
        return np.array(["" if d is None else d.strftime(fmt) for d in dates], dtype=object)

    def birth_dates(self, regs: pd.DataFrame) -> np.ndarray:
        """Registered birth dates as ``datetime.date`` (None when missing), for workbooks."""
        return np.array(
            regs["birth_date"].to_numpy().astype("datetime64[D]").tolist(), dtype=object
        )

    def dates(self, days: np.ndarray) -> np.ndarray:
        """Day indices as ``datetime.date`` (None for −1), for workbooks."""
        out = np.array(self.timeline.dates[np.maximum(days, 0)].tolist(), dtype=object)
        out[days < 0] = None
        return out

    def by_year(self, rows: pd.DataFrame, sort: list[str]) -> dict[int, pd.DataFrame]:
        """Rows of each exported year (by start date), in the order the software lists them."""
        rows = rows.assign(year=self.timeline.year[rows["day"].to_numpy()])
        rows = rows.sort_values(["year", *sort], kind="stable")
        return {
            year: rows[rows["year"] == year].reset_index(drop=True) for year in self.params.years
        }

    def truth(
        self,
        relative_path: str,
        partner: str,
        rows: pd.DataFrame,
        regs: pd.DataFrame | None,
    ) -> pd.DataFrame:
        """One ground-truth row per data row (``source_row`` counts data rows from 1)."""
        who = rows["person"].to_numpy()
        n = len(rows)
        if regs is None:  # street work: initials only, no registration
            rank = np.ones(n, dtype=np.int64)
            flags = {k: np.zeros(n, dtype=bool) for k in NOISE_COLUMNS}
        else:
            reg = rows["reg"].to_numpy()
            rank = rows["rank"].to_numpy()
            flags = {k: regs[k].to_numpy()[reg] for k in NOISE_COLUMNS}
        birth_year = self.persons["birth_date"].to_numpy().astype("datetime64[Y]").astype(int)
        return pd.DataFrame(
            {
                "source_file": relative_path,
                "source_row": np.arange(1, n + 1),
                "true_person_id": self.persons["true_person_id"].to_numpy()[who],
                "partner_id": partner,
                "local_id_rank": rank,
                **flags,
                "true_birth_year": birth_year[who] + 1970,
                "true_sex": self.persons["sex"].to_numpy()[who],
            }
        )

    def identity_columns(
        self, rows: pd.DataFrame, regs: pd.DataFrame, birth: np.ndarray
    ) -> list[np.ndarray]:
        """Local id, surname, first name, birth date, sex, nationality of each row."""
        reg = rows["reg"].to_numpy()
        return [
            regs["local_id"].to_numpy(dtype=object)[reg],
            regs["surname_out"].to_numpy(dtype=object)[reg],
            regs["first_name_out"].to_numpy(dtype=object)[reg],
            birth[reg],
            regs["sex_out"].to_numpy(dtype=object)[reg],
            regs["nationality_out"].to_numpy(dtype=object)[reg],
        ]

    def make_files(
        self,
        partner: str,
        export: str,
        pattern: str,
        per_year: dict[int, pd.DataFrame],
        render: Callable[[pd.DataFrame], list[np.ndarray]],
        fmt_of_year: Callable[[int], CsvFormat | XlsxFormat],
        regs: pd.DataFrame | None,
        person_rows: bool = True,
    ) -> list[ExportFile]:
        """Render each year's rows into an export file (and its truth rows)."""
        files = []
        for year, rows in per_year.items():
            relative = pattern.format(year=year)
            columns = render(rows)
            table = pd.DataFrame(dict(zip(COLUMNS[(partner, export)], columns, strict=True)))
            truth = self.truth(relative, partner, rows, regs) if person_rows else None
            files.append(
                ExportFile(partner, export, year, relative, table, fmt_of_year(year), truth)
            )
        return files


def build_exports(network: Network, params: SampleParams) -> list[ExportFile]:
    """Every annual export of every partner."""
    builder = _Builder(network, params)
    return [
        *_abri_nuit(builder),
        *_accueil_jour(builder),
        *_travail_rue(builder),
        *_urgence_sociale(builder),
        *_maison_accueil(builder),
        *_housing_first(builder),
    ]


def _abri_nuit(b: _Builder) -> list[ExportFile]:
    """Shelter stays (entry, exit, nights, fee) and the daily refusals for lack of place."""
    stays = b.network.shelter_stays.rename(columns={"entry": "day"})
    rows, regs = b.register("abri_nuit", stays)
    rng = stream(b.params.seed, "fees/abri_nuit")
    exempt = rng.random(len(regs)) < cal.SHELTER_FEE_EXEMPT_SHARE
    birth = b.birth_text(regs, "%d/%m/%Y")
    dmy = b.day_text("%d/%m/%Y")

    def render(r: pd.DataFrame) -> list[np.ndarray]:
        exit_day = r["exit"].to_numpy()
        ended = exit_day >= 0
        nights = np.where(ended, exit_day - r["day"].to_numpy(), 0)
        fee = np.where(exempt[r["reg"].to_numpy()], 0.0, nights * cal.SHELTER_FEE_PER_NIGHT)
        fee_text = np.array([f"{v:.2f}".replace(".", ",") for v in fee], dtype=object)
        return [
            *b.identity_columns(r, regs, birth),
            dmy[r["day"].to_numpy()],
            np.where(ended, dmy[np.maximum(exit_day, 0)], ""),
            np.where(ended, nights.astype(str), ""),
            np.where(ended, fee_text, ""),
        ]

    files = b.make_files(
        "abri_nuit",
        "sejours",
        "abri_nuit/abri_nuit_sejours_{year}.csv",
        b.by_year(rows, ["day", "sequence"]),
        render,
        lambda _: _CP1252_CSV,
        regs,
    )
    nights = b.network.shelter_nights
    refusals = nights[nights["refusals"] > 0].assign(person=-1)

    def render_refusals(r: pd.DataFrame) -> list[np.ndarray]:
        return [dmy[r["day"].to_numpy()], r["refusals"].astype(str).to_numpy(dtype=object)]

    files += b.make_files(
        "abri_nuit",
        "refus",
        "abri_nuit/abri_nuit_refus_{year}.csv",
        b.by_year(refusals, ["day"]),
        render_refusals,
        lambda _: _CP1252_CSV,
        None,
        person_rows=False,
    )
    return files


SERVICES_OF_VISIT = ("repas", "douche", "lessive", "vestiaire", "aide sociale", "soins", "consigne")
SERVICE_PROBABILITIES = (0.85, 0.28, 0.12, 0.07, 0.14, 0.04, 0.05)


def _accueil_jour(b: _Builder) -> list[ExportFile]:
    """Day-centre visits with the services used that day ("repas;douche")."""
    rows, regs = b.register("accueil_jour", b.network.contacts["accueil_jour"])
    rng = stream(b.params.seed, "visits/accueil_jour")
    used = rng.random((len(rows), len(SERVICES_OF_VISIT))) < np.array(SERVICE_PROBABILITIES)
    used[~used.any(axis=1), 0] = True  # a visit is at least a meal (or a coffee)
    code = used @ (1 << np.arange(len(SERVICES_OF_VISIT)))
    labels = np.array(
        [
            ";".join(s for k, s in enumerate(SERVICES_OF_VISIT) if c >> k & 1)
            for c in range(1 << len(SERVICES_OF_VISIT))
        ],
        dtype=object,
    )
    rows["services"] = labels[code]
    birth = b.birth_text(regs, "%Y-%m-%d")
    iso = b.day_text("%Y-%m-%d")

    def render(r: pd.DataFrame) -> list[np.ndarray]:
        return [
            *b.identity_columns(r, regs, birth),
            iso[r["day"].to_numpy()],
            r["services"].to_numpy(dtype=object),
        ]

    fmt = CsvFormat(encoding="utf-8", delimiter=",")
    return b.make_files(
        "accueil_jour",
        "passages",
        "accueil_jour/accueil_jour_{year}.csv",
        b.by_year(rows, ["day", "sequence"]),
        render,
        lambda _: fmt,
        regs,
    )


ZONES = ("Gare", "Centre-ville", "Parc", "Quais", "Autre")
ZONE_PROBABILITIES = (0.30, 0.30, 0.15, 0.15, 0.10)
STREET_INTERVENTIONS = (
    "Écoute / soutien",
    "Orientation",
    "Accompagnement",
    "Distribution (soupe, couverture)",
    "Soins de base",
    "Contact bref",
)
STREET_INTERVENTION_PROBABILITIES = (0.32, 0.14, 0.08, 0.20, 0.06, 0.20)
HOURS = np.array([0.25, 0.5, 0.75, 1, 1.5, 2, 3])
INITIALS_STYLES = ("{f}.{s}.", "{f}{s}", "{f}. {s}.", "{f}.{s}", "{fl}.{sl}.")
INITIALS_STYLE_PROBABILITIES = (0.5, 0.28, 0.1, 0.07, 0.05)


def _initial(name: str) -> str:
    letters = [c for c in strip_accents(name) if c.isalpha()]
    return letters[0].upper() if letters else "X"


def _travail_rue(b: _Builder) -> list[ExportFile]:
    """Street-work contacts: initials, estimated age and sex only, zone, intervention, hours."""
    rows = b.network.contacts["travail_rue"].reset_index(drop=True)
    persons = b.persons
    rng = stream(b.params.seed, "contacts/travail_rue")
    who = rows["person"].to_numpy()
    n_persons = len(persons)

    first_letter = np.array([_initial(s) for s in persons["first_name"]], dtype=object)
    surname_letter = np.array([_initial(s) for s in persons["surname"]], dtype=object)
    styles = np.array(
        [
            [style.format(f=f, s=s, fl=f.lower(), sl=s.lower()) for style in INITIALS_STYLES]
            for f, s in zip(first_letter, surname_letter, strict=True)
        ],
        dtype=object,
    ).reshape(n_persons, len(INITIALS_STYLES))
    style = rng.choice(len(INITIALS_STYLES), size=len(rows), p=INITIALS_STYLE_PROBABILITIES)
    rows["initials"] = styles[who, style]

    # Street workers guess an age: a stable personal bias plus a little contact-to-contact noise.
    bias = np.round(rng.normal(0, 3, n_persons)).astype(np.int64)
    birth = persons["birth_date"].to_numpy().astype("datetime64[D]")
    true_age = (
        (b.timeline.dates[rows["day"].to_numpy()] - birth[who]).astype(int) / 365.25
    ).astype(np.int64)
    jitter = np.where(rng.random(len(rows)) < 0.3, rng.integers(-1, 2, len(rows)), 0)
    rows["age"] = np.clip(true_age + bias[who] + jitter, 14, 95)

    sex = np.array([{"M": "H", "F": "F", "X": "?"}[s] for s in persons["sex"]], dtype=object)[who]
    sex[rng.random(len(rows)) < 0.01] = "?"
    rows["sex"] = sex

    home = rng.choice(len(ZONES), size=n_persons, p=ZONE_PROBABILITIES)
    zone = np.where(
        rng.random(len(rows)) < 0.75,
        home[who],
        rng.choice(len(ZONES), size=len(rows), p=ZONE_PROBABILITIES),
    )
    rows["zone"] = np.array(ZONES, dtype=object)[zone]

    kind = rng.choice(
        len(STREET_INTERVENTIONS), size=len(rows), p=STREET_INTERVENTION_PROBABILITIES
    )
    winter = b.timeline.winter[rows["day"].to_numpy()]
    kind = np.where(winter & (rng.random(len(rows)) < 0.15), 3, kind)  # soup and blankets
    new_person = persons["first_contact"].to_numpy()[who] >= b.timeline.window_start
    first_seen = ~pd.Series(who).duplicated().to_numpy() & new_person
    labels = np.array((*STREET_INTERVENTIONS, "Premier contact"), dtype=object)
    rows["intervention"] = labels[np.where(first_seen, len(STREET_INTERVENTIONS), kind)]
    hours = rng.choice(HOURS, size=len(rows), p=(0.3, 0.3, 0.12, 0.14, 0.07, 0.05, 0.02))
    long = rng.choice(HOURS[3:], size=len(rows), p=(0.3, 0.3, 0.3, 0.1))
    rows["hours"] = np.where(kind == 2, long, hours)
    rows["seq"] = np.arange(len(rows))
    dmy = b.day_text("%d-%m-%y")

    def render(r: pd.DataFrame) -> list[np.ndarray]:
        return [
            dmy[r["day"].to_numpy()],
            r["initials"].to_numpy(dtype=object),
            r["sex"].to_numpy(dtype=object),
            r["age"].astype(str).to_numpy(dtype=object),
            r["zone"].to_numpy(dtype=object),
            r["intervention"].to_numpy(dtype=object),
            _decimal_comma(r["hours"].to_numpy()),
        ]

    fmt = CsvFormat(encoding="utf-8", delimiter="\t")
    return b.make_files(
        "travail_rue",
        "contacts",
        "travail_rue/travail_rue_{year}.tsv",
        b.by_year(rows, ["day", "zone", "seq"]),
        render,
        lambda _: fmt,
        None,
    )


# The DUS works around the clock, busiest in the evening.
HOUR_WEIGHTS = np.array(
    [3, 3, 2, 2, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 6, 7, 8, 9, 9, 8, 6, 4], dtype=float
)
MOTIVES = {
    "Demande d'hébergement": (
        0.30,
        {"Abri de nuit": 0.6, "Maison d'accueil": 0.1, "CPAS": 0.1, "Aucune": 0.2},
    ),
    "Aide alimentaire": (0.12, {"Accueil de jour": 0.5, "CPAS": 0.3, "Aucune": 0.2}),
    "Santé": (0.12, {"Hôpital": 0.45, "Relais santé": 0.35, "Aucune": 0.2}),
    "Violence / conflit": (
        0.08,
        {"Police": 0.5, "Abri de nuit": 0.2, "Hôpital": 0.1, "Aucune": 0.2},
    ),
    "Aide administrative": (0.12, {"CPAS": 0.7, "Aucune": 0.3}),
    "Perte de logement": (
        0.10,
        {"CPAS": 0.4, "Abri de nuit": 0.3, "Maison d'accueil": 0.2, "Aucune": 0.1},
    ),
    "Écoute / soutien": (0.16, {"Aucune": 0.6, "Accueil de jour": 0.2, "Relais santé": 0.2}),
}
DUS_HOURS = np.array([0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4])
DUS_HOUR_PROBABILITIES = (0.10, 0.25, 0.15, 0.20, 0.12, 0.10, 0.05, 0.03)


def _urgence_sociale(b: _Builder) -> list[ExportFile]:
    """Social-emergency interventions: date, hour, reason, orientation given, duration."""
    rows, regs = b.register("urgence_sociale", b.network.contacts["urgence_sociale"])
    rng = stream(b.params.seed, "interventions/urgence_sociale")
    n = len(rows)
    minute = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()) * 60 + 5 * rng.integers(
        0, 12, n
    )
    rows["minute"] = minute
    motives = np.array(list(MOTIVES), dtype=object)
    base = np.array([v[0] for v in MOTIVES.values()])
    winter = b.timeline.winter[rows["day"].to_numpy()]
    motive = rng.choice(len(motives), size=n, p=base / base.sum())
    motive = np.where(winter & (rng.random(n) < 0.12), 0, motive)  # cold nights: a bed
    orientation = np.empty(n, dtype=object)
    for k, (_, options) in enumerate(MOTIVES.values()):
        sel = np.flatnonzero(motive == k)
        labels = np.array(list(options), dtype=object)
        orientation[sel] = rng.choice(labels, size=len(sel), p=list(options.values()))
    rows["motive"] = motives[motive]
    rows["orientation"] = orientation
    rows["hours"] = rng.choice(DUS_HOURS, size=n, p=DUS_HOUR_PROBABILITIES)
    birth = b.birth_text(regs, "%d/%m/%Y")
    dmy = b.day_text("%d/%m/%Y")
    clock = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)], dtype=object)

    def render(r: pd.DataFrame) -> list[np.ndarray]:
        return [
            *b.identity_columns(r, regs, birth),
            dmy[r["day"].to_numpy()],
            clock[r["minute"].to_numpy()],
            r["motive"].to_numpy(dtype=object),
            r["orientation"].to_numpy(dtype=object),
            _decimal_comma(r["hours"].to_numpy()),
        ]

    return b.make_files(
        "urgence_sociale",
        "interventions",
        "urgence_sociale/urgence_sociale_{year}.csv",
        b.by_year(rows, ["day", "minute", "sequence"]),
        render,
        lambda _: _CP1252_CSV,
        regs,
    )


def _stay_with_exit(
    b: _Builder, regs: pd.DataFrame, birth: np.ndarray
) -> Callable[[pd.DataFrame], list[np.ndarray]]:
    """Columns of a stay export with an exit reason: identity, entry, exit, reason."""

    def render(r: pd.DataFrame) -> list[np.ndarray]:
        return [
            *b.identity_columns(r, regs, birth),
            b.dates(r["day"].to_numpy()),
            b.dates(r["exit"].to_numpy()),
            r["exit_reason"].to_numpy(dtype=object),
        ]

    return render


def _maison_accueil(b: _Builder) -> list[ExportFile]:
    """Maison d'accueil stays with exit reason, in a workbook with a title block."""
    stays = b.network.ma_stays.rename(columns={"entry": "day"})
    rows, regs = b.register("maison_accueil", stays, files_kept_before=False)
    birth = b.birth_dates(regs)

    render = _stay_with_exit(b, regs, birth)

    def fmt(year: int) -> XlsxFormat:
        return XlsxFormat(
            sheet="Séjours",
            header_row=4,
            title=(
                "Maison d'accueil « Les Tilleuls »",
                f"Séjours commencés en {year} – extraction du 15/01/{year + 1}",
                "",
            ),
        )

    return b.make_files(
        "maison_accueil",
        "sejours",
        "maison_accueil/maison_accueil_{year}.xlsx",
        b.by_year(rows, ["day", "sequence"]),
        render,
        fmt,
        regs,
    )


def _housing_first(b: _Builder) -> list[ExportFile]:
    """Housing First tenancies (one code per tenant: no second ids), in a workbook."""
    tenancies = b.network.tenancies.rename(columns={"entry": "day"})
    rows, regs = b.register("housing_first", tenancies, second_ids=False, files_kept_before=False)
    birth = b.birth_dates(regs)

    render = _stay_with_exit(b, regs, birth)

    def fmt(year: int) -> XlsxFormat:
        return XlsxFormat(
            sheet="Locataires", header_row=3, title=(f"Housing First – Locataires {year}", "")
        )

    return b.make_files(
        "housing_first",
        "logements",
        "housing_first/housing_first_{year}.xlsx",
        b.by_year(rows, ["day", "sequence"]),
        render,
        fmt,
        regs,
    )
