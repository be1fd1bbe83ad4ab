"""`observatoire check FILE --partner ID`: vet one partner export the day it arrives.

The check runs the very reader the pipeline uses
(:func:`observatoire.intake.ingest.read_partner_file`), so what it accepts the pipeline accepts, but
it writes nothing: no clean data, no quarantine, no key. Its output is meant to be pasted into a
reply to the partner, so it names lines and columns and never prints a cell value (names, birth
dates and client ids must not travel by e-mail). Exit codes: 0 every row accepted, 1 some rows set
aside, 2 file rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import yaml

from observatoire.config.settings import IdentityChecks, InputsSettings, ReadLimits
from observatoire.core import yamltext
from observatoire.core.coverage import (
    STRAY_GAP_MONTHS,
    STRAY_SHARE,
    month_text,
    periods_text,
    periods_yaml,
    propose_periods,
)
from observatoire.core.errors import ExportRejected, MappingError, ObservatoireError
from observatoire.core.formatting import french_percent
from observatoire.core.schema import FIELD_TABLES, PROJECT_CHILD_TABLES, QUARANTINE_REASONS
from observatoire.intake.discovery import resend_number, resend_order
from observatoire.intake.form_check import form_notes, repeat_sheets, split_repeats
from observatoire.intake.identity import normalise_initials, normalise_name
from observatoire.intake.ingest import WEATHER_RANGE, FileResult, export_year, read_shared_file
from observatoire.intake.mapping import (
    ColumnSpec,
    ExportSpec,
    JoinSpec,
    PartnerMapping,
    load_mapping,
    misnamed_file,
    normalise_label,
)
from observatoire.intake.readers import workbook_sheets
from observatoire.intake.relational import JoinedTables

__all__ = [
    "DATE_WORDS",
    "EXIT_CODES",
    "JOIN_REASONS",
    "MAX_CODE_EXAMPLES",
    "MAX_LINE_ITEMS",
    "CheckRejected",
    "CheckReport",
    "ProblemGroup",
    "check_file",
    "condense_lines",
    "constant_identity_notes",
    "file_pattern",
    "find_export",
    "find_exports",
    "find_partner",
    "fix_sentence",
    "human_date_format",
    "render_text",
    "resend_notes",
    "run_check",
]

EXIT_CODES = {
    "ok": 0,
    "rows_set_aside": 1,
    "rejected": 2,
    "join_problems": 2,
    "no_rows": 1,
    "days_missing": 1,
}
"""``no_rows``: a readable export without any data row. Ingest would not stop, but the partner's
year would be « données absentes » (never zero, see docs/couverture.md): exit 1, to ask the
partner for the complete export. ``days_missing``: a weather file whose
readings skip days (every row read, but the plans' phase calendar would have holes): exit 1."""
JOIN_REASONS = ("jointure_sans_correspondance", "jointure_ambigue")
"""Rows a join could not complete: the tables sent do not fit together, the sending is refused
(exit code 2) until the partner sends tables extracted together."""
MAX_LINE_ITEMS = 8
"""Line numbers or ranges shown per column before "et N autres"."""
MAX_CODE_EXAMPLES = 8

DATE_WORDS = (("%d", "jj"), ("%m", "mm"), ("%Y", "aaaa"), ("%y", "aa"))


@dataclass
class ProblemGroup:
    """Rows set aside for one reason in one column: the unit a partner can fix in one go."""

    reason: str
    label: str
    column: str
    lines: list[int]
    action: str
    sheet: str = ""
    """The sheet of a workbook read sheet by sheet ("" when the file is read as one)."""


@dataclass
class CheckReport:
    """What the check found; rendered as French text or as one JSON object."""

    status: str
    file: str
    partner_id: str
    partner_name: str | None = None
    export: str | None = None
    table: str | None = None
    """The canonical table the export feeds (``contacts``, ``aggregates``, ``weather``…)."""
    expected_format: str | None = None
    year: int | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    problems: list[ProblemGroup] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    """Reason code → what to ask the partner (one sentence covering all its columns)."""
    notes: list[str] = field(default_factory=list)
    message: str | None = None
    action: str | None = None
    mapping_refused: bool = False
    """The partner's own mapping file is refused: the export itself was not read."""
    coverage_declared: list[list[str]] | None = None
    """The coverage the mapping declares for this export (« aaaa-mm » pairs), if any."""
    coverage_off_season: list[str] = field(default_factory=list)
    """The declared months (« aaaa-mm ») off a seasonal partner's season: closed by design."""
    coverage_proposed: dict[str, Any] | None = None
    """The coverage this file's dates suggest (:func:`observatoire.core.coverage.propose_periods`):
    ``periods``, ``rows``, ``stray_rows``, ``stray_months``, and ``yaml``, the block to paste."""
    rows_filtered: int = 0
    """Rows out of the scope of every export reading the file (``where:``), not errors."""
    filters: dict[str, int] = field(default_factory=dict)
    """Filter missed (French) → rows it put out of scope."""
    exports_detail: dict[str, dict[str, int]] = field(default_factory=dict)
    """For a file several exports read: each export's rows accepted, set aside, filtered."""
    weather_readings: bool = False
    """A weather file of daily readings (temperatures), not of alert periods."""
    weather: list[str] = field(default_factory=list)
    """A weather file: what ingest would say of its readings (days without a reading, days
    read twice), in French."""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for group in data.get("problems") or []:  # a sheet only for a workbook read by sheet
            if not group.get("sheet"):
                group.pop("sheet", None)
        if self.status != "rejected":
            data.pop("message")
            data.pop("action")
            data.pop("mapping_refused")
        data["exit_code"] = self.exit_code
        return data


class CheckRejected(ObservatoireError):
    """The check cannot even start (unknown partner, missing file, no matching export)."""

    def __init__(self, problem: str, action: str) -> None:
        self.problem, self.action = problem, action
        super().__init__(f"{problem}\n  À faire : {action}")


# --- finding the partner and the export ---


def find_partner(partners_dir: Path, codes_dir: Path, partner_id: str) -> PartnerMapping:
    """Load the partner's mapping; another partner's broken mapping does not block the check."""
    known: list[str] = []
    broken: list[str] = []
    for path in sorted(Path(partners_dir).glob("*.yaml")):
        try:
            mapping = load_mapping(path, Path(codes_dir))
        except MappingError as exc:
            if _declares(path, partner_id):  # the partner's own mapping is refused: say why
                raise
            broken.append(exc.problem)
            continue
        if mapping.partner_id == partner_id:
            misnamed = misnamed_file(mapping)
            if misnamed is not None:
                raise misnamed
            return mapping
        known.append(mapping.partner_id)
    detail = f" Partenaires connus : {', '.join(known)}." if known else ""
    if broken:
        detail += " Correspondances illisibles : " + " / ".join(broken)
    raise CheckRejected(
        f"partenaire « {partner_id} » inconnu dans {partners_dir}.{detail}",
        "indiquez l'identifiant du partenaire (`observatoire partners` les liste), ou ajoutez "
        "sa correspondance dans params/partners/.",
    )


def _declares(path: Path, partner_id: str) -> bool:
    """Whether a (refused) mapping file is the one of ``partner_id``: its name or its key."""
    if path.stem == partner_id:
        return True
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and raw.get("partner_id") == partner_id


def file_pattern(spec: ExportSpec) -> str:
    """The file-name part of an export's glob (its folder is where the pipeline looks)."""
    return PurePosixPath(spec.files).name


def find_export(partner: PartnerMapping, file: Path) -> tuple[ExportSpec, list[str]]:
    """The export the file is, from its name; a single-export partner needs no name match."""
    name = file.name.lower()
    for spec in partner.exports:
        if fnmatchcase(name, file_pattern(spec).lower()):
            if fnmatchcase(file.name, file_pattern(spec)):
                return spec, []
            # The pipeline's glob is case-sensitive: say so rather than pass silently.
            return spec, [
                f"le nom du fichier ne suit le modèle « {file_pattern(spec)} » qu'aux majuscules "
                "près : le pipeline ne le lira que renommé exactement selon ce modèle."
            ]
    if len(partner.exports) == 1:
        spec = partner.exports[0]
        note = (
            f"le nom du fichier ne suit pas le modèle « {file_pattern(spec)} » : le pipeline ne "
            "le lira que renommé selon ce modèle."
        )
        return spec, [note]
    exports = ", ".join(f"« {s.name} » ({file_pattern(s)})" for s in partner.exports)
    raise CheckRejected(
        f"le nom du fichier ne correspond à aucun export du partenaire « {partner.partner_id} » "
        f"(exports : {exports}).",
        "renommez le fichier selon le modèle de l'export qu'il contient.",
    )


def find_exports(partner: PartnerMapping, file: Path) -> tuple[list[ExportSpec], list[str]]:
    """Every export that reads the file (one per dispositif when a file feeds several)."""
    _refuse_joined_table(partner, file)
    spec, notes = find_export(partner, file)
    same = [
        s
        for s in partner.exports
        if s is spec or fnmatchcase(file.name.lower(), file_pattern(s).lower())
    ]
    return same, notes


def _refuse_joined_table(partner: PartnerMapping, file: Path) -> None:
    """A joined table is checked through the file it completes, not on its own."""
    if any(fnmatchcase(file.name.lower(), file_pattern(s).lower()) for s in partner.exports):
        return
    for spec in partner.exports:
        for join in spec.joins:
            if fnmatchcase(file.name.lower(), PurePosixPath(join.files).name.lower()):
                raise CheckRejected(
                    f"« {file.name} » est la table jointe « {join.name} » de l'export "
                    f"« {spec.name} » : elle ne se vérifie pas seule.",
                    f"vérifiez le fichier principal de l'export ({file_pattern(spec)}), posé dans "
                    "le même dossier que cette table : la vérification la lira avec lui.",
                )


# --- what to ask the partner ---


def human_date_format(date_format: str) -> str:
    """``%d/%m/%Y`` → ``jj/mm/aaaa``: the form a partner's staff understands."""
    for code, word in DATE_WORDS:
        date_format = date_format.replace(code, word)
    return date_format


def _column_spec(spec: ExportSpec, column: str) -> ColumnSpec | None:
    for col in spec.columns.values():
        if column in col.labels():
            return col
    return None


def _code_examples(col: ColumnSpec | None) -> str:
    """A few accepted labels, one per canonical code first (h, f, x, … rather than h, m, homme)."""
    if col is None or not col.codes:
        return ""
    by_code: dict[str, list[str]] = {}
    for label, code in col.codes.items():
        if label:
            by_code.setdefault(code, []).append(label)
    labels: list[str] = []
    for rank in range(max(map(len, by_code.values()), default=0)):
        labels += [group[rank] for group in by_code.values() if rank < len(group)]
    more = ", …" if len(labels) > MAX_CODE_EXAMPLES else ""
    return f" (par exemple {', '.join(labels[:MAX_CODE_EXAMPLES])}{more})"


def fix_sentence(reason: str, spec: ExportSpec, columns: list[str], year: int | None) -> str:
    """One actionable French sentence per reason code, in the partner's own terms."""
    fmt = spec.format
    cols = ", ".join(f"« {c} »" for c in columns)
    if reason == "date_illisible":
        if fmt.date_format == "excel":
            return (
                "saisir les dates comme de vraies dates du tableur (cellules au format Date), "
                "pas comme du texte, et vérifier qu'elles existent (pas de 31/02)."
            )
        example = dt.date(year or 2024, 1, 31).strftime(fmt.date_format)
        return (
            f"écrire les dates au format {human_date_format(fmt.date_format)} "
            f"(par exemple {example}) et vérifier qu'elles existent (pas de 31/02)."
        )
    if reason == "date_manquante":
        return f"remplir {cols} sur chaque ligne : cette valeur est obligatoire."
    if reason == "date_hors_periode":
        period = f"de {year}" if year else "de l'année du fichier"
        return (
            f"n'envoyer dans ce fichier que les lignes {period} (un fichier par année), ou "
            "corriger l'année de ces dates."
        )
    if reason == "nombre_illisible":
        kinds = {c.kind for name in columns if (c := _column_spec(spec, name))}
        if kinds == {"integer"}:
            return f"écrire {cols} en nombres entiers, en chiffres seulement (par exemple 12)."
        example = f"1{fmt.thousands or ''}234{fmt.decimal}5"
        return (
            f"écrire {cols} en chiffres seulement, sans unité ni texte, avec « {fmt.decimal} » "
            f"comme décimale (par exemple {example}) ; les comptages en nombres entiers."
        )
    if reason == "code_inconnu":
        examples = "".join(_code_examples(_column_spec(spec, c)) for c in columns[:1])
        return (
            f"utiliser dans {cols} uniquement les codes convenus{examples}, ou nous signaler le "
            "nouveau code pour qu'il soit ajouté à la liste."
        )
    if reason == "identite_manquante":
        return (
            f"remplir {cols} sur chaque ligne : sans identifiant, la personne ne peut pas être "
            "comptée."
        )
    if reason == "ligne_total":
        return "retirer les lignes de total et de sous-total (l'observatoire calcule les totaux)."
    if reason == "ligne_dupliquee":
        return (
            "vérifier les lignes répétées à l'identique (double saisie ou double extraction) et "
            "n'en garder qu'une."
        )
    if reason == "fichier_en_double":
        return "ne pas renvoyer un fichier déjà envoyé."
    if reason == "periode_deja_couverte":
        return "rien : un envoi plus récent couvre la même période et remplace celui-ci."
    if reason == "dates_incoherentes":
        return f"corriger {cols} : la date de sortie ne peut pas précéder la date d'entrée."
    if reason == "nuitees_incoherentes":
        return "corriger le nombre de nuitées pour qu'il corresponde aux dates d'entrée et sortie."
    if reason == "valeur_hors_plage" and spec.table == "weather":
        low, high = (f"{v:g}".replace("-", "−") for v in WEATHER_RANGE)
        return (
            f"vérifier ces températures dans la source : en °C de {low} à {high}, le minimum "
            "du jour au plus égal à son maximum (une colonne décalée, des dixièmes de degré ?)."
        )
    if reason == "valeur_hors_plage":
        return f"corriger {cols} : la valeur est hors de la plage admise."
    if reason == "hors_couverture_declaree":
        return (
            f"vérifier {cols} : ces lignes sont datées hors de la période que couvrent vos "
            "exports (couverture déclarée) ; corriger la date, ou nous dire si l'export couvre "
            "désormais une autre période."
        )
    if reason == "ligne_isolee":
        return (
            f"vérifier {cols} : ces lignes sont datées loin de toutes les autres (une erreur "
            "d'année ?) ; corriger la date."
        )
    if reason == "jointure_sans_correspondance" and spec.table == "project_attendance":
        return (
            f"vérifier {cols} : ces présences renvoient à une séance absente du relevé des "
            "activités (ou mise de côté : date ou activité illisible) ; ajouter la séance au "
            "relevé des activités (même date, même activité), ou corriger la date ou l'intitulé "
            "de la présence ; pour un formulaire, renvoyer l'export complet, toutes les feuilles "
            "du même téléchargement."
        )
    if reason == "marque_inconnue":
        marks = ", ".join(f"« {m} »" for m in spec.format.grid.mark) if spec.format.grid else ""
        return (
            f"vérifier {cols} : la cellule porte une marque qui n'est ni une présence "
            f"({marks or 'marques déclarées'}) ni une absence déclarée ; la remplacer par une "
            "marque de présence, ou vider la cellule si la personne n'était pas là (ou nous "
            "dire ce que signifie cette marque : elle sera ajoutée à la correspondance)."
        )
    if reason == "jointure_sans_correspondance" and spec.table in FIELD_TABLES:
        return (
            f"vérifier {cols} : ces groupes (feuille d'une répétition) renvoient à une "
            "soumission absente de la feuille principale (ou mise de côté) ; renvoyer l'export "
            "complet, toutes les feuilles du même téléchargement."
        )
    if reason in ("jointure_sans_correspondance", "jointure_ambigue"):
        return _join_sentence(reason, spec, columns, cols)
    if reason == "heure_illisible":
        return (
            f"écrire {cols} comme une heure (« 22:40 », ou telle que KoboToolbox l'exporte, "
            "« 22:40:00.000+01:00 ») ou un nombre entier de 0 à 23."
        )
    if reason == "reponse_manquante":
        return f"remplir {cols} sur chaque ligne : cette réponse est obligatoire."
    where = cols or "la colonne indiquée"
    if reason == "guillemet_non_ferme":
        return (
            f"fermer ou retirer le guillemet (\") ouvert dans {where} sur cette ligne : il n'est "
            "jamais fermé (ou seulement plusieurs lignes plus bas), si bien que les lignes "
            "suivantes se retrouveraient dans une seule cellule. La ligne est mise de côté ; "
            "les suivantes sont lues normalement."
        )
    if reason == "caractere_nul":
        return (
            f"corriger {where} : la cellule contient un caractère nul invisible (octet 0x00, "
            "fichier endommagé ou copié depuis un autre logiciel) ; ressaisir la valeur."
        )
    if reason == "formule_sans_valeur":
        return (
            f"ouvrir et enregistrer le fichier dans Excel ou LibreOffice, puis le renvoyer : "
            f"{where} contient une formule sans valeur calculée (classeur produit par un "
            "programme et jamais ouvert dans un tableur), que l'enregistrement calculera."
        )
    if reason == "occupation_excessive":
        return (
            "vérifier les lits occupés de ces nuits : ils dépassent les lits disponibles (lits "
            "d'hiver compris) ; corriger le nombre ou ajouter les lits ouverts ce jour-là."
        )
    if reason == "groupes_incoherents":
        return (
            "vérifier le total de ces lignes : il doit être la somme des groupes qui le composent "
            "(ou nous dire quels groupes se chevauchent)."
        )
    return "vérifier ces lignes."


def _join_of(spec: ExportSpec, columns: list[str]) -> JoinSpec | None:
    """The join whose key is read from ``columns`` (as the quarantine names it)."""
    for join in spec.joins:
        left = {normalise_label(c) for c, _ in join.on}
        if any(normalise_label(part) in left for c in columns for part in c.split(", ")):
            return join
    return None


def _join_sentence(reason: str, spec: ExportSpec, columns: list[str], cols: str) -> str:
    join = _join_of(spec, columns)
    if join is None:
        table, key = "de la table jointe", "la clé"
    else:
        table = f"du fichier « {PurePosixPath(join.files).name} » (table « {join.name} »)"
        key = ", ".join(f"« {c} »" for _, c in join.on)
    if reason == "jointure_ambigue":
        return (
            f"dédoublonner {table.split(' ', 1)[1]} : chaque valeur de {key} doit y figurer "
            "une seule fois "
            f"(ces lignes y trouvent plusieurs correspondances pour {cols})."
        )
    return (
        f"vérifier {cols} : ces valeurs sont absentes {table} ; envoyer toutes les tables de "
        "l'export extraites le même jour (une personne, un programme ou un séjour créé après "
        "l'extraction d'une table manque dans l'autre), ou corriger la clé."
    )


# --- condensing line numbers ---


def condense_lines(lines: Iterable[int], max_items: int = MAX_LINE_ITEMS) -> str:
    """``[12, 15, 40, 41, …, 45, …]`` → ``lignes 12, 15, 40–45 et 212 autres``."""
    ordered = sorted(set(lines))
    if not ordered:
        return "aucune ligne"
    runs: list[tuple[int, int]] = []
    for n in ordered:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    items: list[tuple[str, int]] = []  # (text, lines it covers)
    for a, b in runs:
        if b - a >= 2:
            items.append((f"{a}–{b}", b - a + 1))
        else:
            items.extend((str(n), 1) for n in range(a, b + 1))
    word = "ligne" if len(ordered) == 1 else "lignes"
    if len(items) > max_items:
        shown = items[:max_items]
        rest = len(ordered) - sum(n for _, n in shown)
        others = "autre" if rest == 1 else "autres"
        return f"{word} {', '.join(t for t, _ in shown)} et {rest} {others}"
    texts = [t for t, _ in items]
    if len(texts) == 1:
        return f"{word} {texts[0]}"
    return f"{word} {', '.join(texts[:-1])} et {texts[-1]}"


# --- the check ---


def _sheet_note(spec: ExportSpec, res: FileResult) -> str:
    """The counts of one sheet of a workbook read sheet by sheet (a month, a repeat)."""
    what = "répétition" if spec.table in PROJECT_CHILD_TABLES else "feuille"
    return (
        f"feuille « {spec.format.sheet} » ({what}, export « {spec.name} ») : "
        f"{_n(res.rows_read)} lignes lues, {_n(res.rows_accepted)} acceptées, "
        f"{_n(res.rows_quarantined)} mises de côté (comptées dans le total ci-dessus)."
    )


def _problem_groups(result: FileResult, spec: ExportSpec, year: int | None) -> list[ProblemGroup]:
    q = result.quarantined
    if q is None or q.empty:
        located = pd.DataFrame(
            [(p.reason, p.column, p.line) for p in result.problems],
            columns=["reason", "column", "line"],
        )
    else:
        located = q[["reason", "column", "line"]]
    order = list(QUARANTINE_REASONS)
    groups: list[ProblemGroup] = []
    for (reason, column), rows in located.groupby(["reason", "column"], sort=False):
        groups.append(
            ProblemGroup(
                reason=str(reason),
                label=QUARANTINE_REASONS.get(str(reason), str(reason)),
                column=str(column),
                lines=sorted(int(n) for n in rows["line"]),
                action=fix_sentence(str(reason), spec, [str(column)], year),
            )
        )
    groups.sort(key=lambda g: (order.index(g.reason) if g.reason in order else 99, g.lines[0]))
    return groups


def check_file(
    file: Path, partner_id: str, inputs: InputsSettings, limits: ReadLimits | None = None
) -> CheckReport:
    """Read one export as the pipeline would and report, without writing anything.

    ``limits`` (``ingest.limits``) are the pipeline's: a file it would refuse for its size is
    refused here, before being read."""
    file = Path(file)
    report = CheckReport(status="rejected", file=str(file), partner_id=partner_id)
    try:
        partner = find_partner(
            inputs.partners_dir,
            inputs.codes_dir,
            partner_id,
        )
        report.partner_name = partner.name
        if file.is_symlink():
            raise CheckRejected(
                f"« {file} » est un lien symbolique, pas un fichier : l'ingestion refuse les "
                "liens dans le dossier des exports (ils peuvent lire un fichier hors du projet, "
                "ou faire passer le vrai fichier pour une copie en double).",
                "vérifiez le fichier lui-même, et déposez-en une copie (pas un lien).",
            )
        if not file.is_file():
            what = "est un dossier" if file.is_dir() else "est introuvable"
            raise CheckRejected(
                f"le fichier « {file} » {what}.", "vérifiez le chemin et le nom du fichier."
            )
        specs, report.notes = find_exports(partner, file)
        repeats: list[ExportSpec] = []
        month_sheets: list[list[ExportSpec]] = []
        if partner.field_only:  # a form's workbook: the main sheet, then its repeat sheets
            specs, repeats = split_repeats(specs)
            # a project's workbook may hold several tables on named sheets (a budget: planned
            # lines, expenses): each sheet read on its own, like ingest (one accounting a sheet)
            by_sheet: dict[str | None, list[ExportSpec]] = {}
            for s in specs:
                by_sheet.setdefault(s.format.sheet, []).append(s)
            if specs[0].format.sheets is None and len(by_sheet) > 1:
                specs, *month_sheets = by_sheet.values()
        if specs[0].format.sheets is not None:  # one sheet per month…: each read on its own
            names = workbook_sheets(file, specs[0].format, partner.partner_id, str(file))
            per_sheet = [
                [replace(s, format=replace(s.format, sheet=name)) for s in specs] for name in names
            ]
            specs, month_sheets = per_sheet[0], per_sheet[1:]
            report.notes.append(
                f"feuilles lues : {', '.join(f'« {n} »' for n in names)} (chacune comptée à "
                "part, totaux ci-dessous)."
            )
        spec = specs[0]
        report.export = " + ".join(s.name for s in specs)
        report.table = spec.table
        report.expected_format = spec.format.describe()
        report.year = export_year(spec, file)
        if spec.period_from_filename and report.year is None:
            report.notes.append(
                "pas d'année dans le nom du fichier : les dates n'ont pas été comparées à "
                "l'année couverte (le pipeline lit l'année dans le nom)."
            )
        declared = partner.export_coverage(spec)
        # Joined tables are looked for beside the file first, then where the pipeline reads.
        tables = JoinedTables(inputs.raw_dir, partner.partner_id, search_dirs=(file.parent,))
        result, outputs = read_shared_file(
            file, str(file), partner, specs, tables, partner.export_coverage, limits=limits
        )
        report.coverage_declared = [list(p) for p in declared] if declared else None
        report.coverage_off_season = sorted(partner.export_season(spec)[1])
        frames = [frame for _, frame in outputs if len(frame)]
        if partner.field_only:  # field records: no coverage; the repeat sheets and the form
            key = PROJECT_CHILD_TABLES[repeats[0].table][1] if repeats else "submission_id"
            kept = {str(v) for f in frames for v in f.get(key, []) if v == v and v is not None}
            sheets = repeat_sheets(file, partner, repeats, kept)
            for group in month_sheets:
                res, _ = read_shared_file(
                    file, f"{file}#{group[0].format.sheet}", partner, group, tables, limits=limits
                )
                sheets.append((group[0], res))
            forms_dir = Path(inputs.partners_dir).parent / "formulaires"
            report.notes.extend(form_notes(file, partner, specs + repeats, forms_dir))
        elif spec.table == "weather":  # a source of no service: no coverage, its days instead
            report.weather = _weather_lines(frames, spec)
            report.weather_readings = bool({"tmin", "tmax"} & set(spec.columns))
        else:
            report.coverage_proposed = _coverage_proposal(
                pd.concat(frames, ignore_index=True) if frames else outputs[0][1], spec
            )
    except (ExportRejected, CheckRejected) as exc:
        report.message, report.action = exc.problem, exc.action
        return report
    except MappingError as exc:
        report.mapping_refused = True
        report.message = exc.problem
        report.action = exc.action or "corrigez la correspondance du partenaire puis relancez."
        return report
    except ObservatoireError as exc:
        report.message, report.action = str(exc), "corrigez le problème indiqué puis relancez."
        return report
    except MemoryError:  # a safety net: the limits are meant to refuse such a file before
        report.message = (
            "mémoire insuffisante pour lire ce fichier : il dépasse ce que cette machine peut "
            "lire, sans avoir dépassé les limites de ingest.limits."
        )
        report.action = (
            "abaissez les limites `ingest.limits` dans params/pipeline.yaml, ou demandez au "
            "partenaire un export limité aux lignes et colonnes convenues."
        )
        return report
    except OSError as exc:  # unreadable file: permissions, device errors
        report.message = f"le fichier ne peut pas être lu ({type(exc).__name__})."
        report.action = "vérifiez les droits de lecture du fichier."
        return report
    except Exception as exc:  # a reader bug: no traceback, whose text may hold cells
        report.message = (
            f"erreur interne pendant la lecture ({type(exc).__name__}) ; le fichier n'a pas pu "
            "être vérifié."
        )
        report.action = (
            "signalez-le à l'équipe de l'observatoire avec le nom du partenaire et du fichier "
            "(sans envoyer le fichier par e-mail)."
        )
        return report
    report.rows_read = result.rows_read
    report.rows_accepted = result.rows_accepted
    report.rows_quarantined = result.rows_quarantined
    report.reasons = result.reasons
    report.problems = _problem_groups(result, spec, report.year)
    if spec.format.sheets is not None:  # one sheet per month: each problem says its sheet
        for group in report.problems:
            group.sheet = str(spec.format.sheet)
        report.notes.append(_sheet_note(spec, result))
    if partner.field_only:
        for rspec, res in sheets:
            report.rows_read += res.rows_read
            report.rows_accepted += res.rows_accepted
            report.rows_quarantined += res.rows_quarantined
            for reason, n in res.reasons.items():
                report.reasons[reason] = report.reasons.get(reason, 0) + n
            groups = _problem_groups(res, rspec, report.year)
            if rspec.format.sheets is not None:
                for group in groups:
                    group.sheet = str(rspec.format.sheet)
            report.problems += groups
            report.notes.append(_sheet_note(rspec, res))
    for group in report.problems:
        if group.reason in JOIN_REASONS:
            group.action = fix_sentence(
                group.reason, _spec_joining(specs, group.column), [group.column], report.year
            )
    for reason in dict.fromkeys(g.reason for g in report.problems):
        columns = [g.column for g in report.problems if g.reason == reason]
        owner = _spec_joining(specs, columns[0]) if reason in JOIN_REASONS else spec
        report.actions[reason] = fix_sentence(reason, owner, columns, report.year)
    report.rows_filtered = result.rows_filtered
    if result.rows_filtered:
        counts = result.filtered["condition"].value_counts()
        report.filters = {str(k): int(v) for k, v in counts.items()}
    if result.exports is not None:
        report.exports_detail = result.exports
    report.notes.extend(result.notes)
    report.extra_columns = list(result.extra_columns)
    report.missing_optional_columns = list(result.missing_optional)
    if result.rows_read == 0:
        report.notes.append("le fichier ne contient aucune ligne de données.")
    report.notes.extend(constant_identity_notes(result.accepted, spec))
    report.notes.extend(resend_notes(file))
    report.status = "rows_set_aside" if report.rows_quarantined else "ok"
    if report.status == "ok" and any(w.startswith("jours sans relevé") for w in report.weather):
        report.status = "days_missing"
    if spec.table == "weather":
        for group in report.problems:
            if group.reason == "valeur_hors_plage":
                group.label = WEATHER_OUT_OF_RANGE
    if report.rows_read == 0:
        report.status = "no_rows"
    if any(reason in JOIN_REASONS for reason in report.reasons):
        report.status = "join_problems"
    return report


def resend_notes(file: Path) -> list[str]:
    """A note on a file named like a browser's second download (« …_2024 (1).csv »): the
    pipeline takes it for a re-send of « …_2024.csv », which it replaces."""
    n = resend_number(file.name)
    if not n:
        return []
    original = resend_order(file.name)[0]
    return [
        f"nom de second téléchargement « ({n}) » : déposé à côté de « {original} », ce fichier "
        "est tenu pour un renvoi corrigé de la même période et le remplace (les lignes de "
        "l'original sont mises de côté : periode_deja_couverte). S'il s'agit d'une autre "
        "période, renommez-le."
    ]


WEATHER_OUT_OF_RANGE = (
    f"température impossible (hors de {WEATHER_RANGE[0]:g} à {WEATHER_RANGE[1]:g} °C, ou "
    "minimum au-dessus du maximum du jour)"
).replace(f"{WEATHER_RANGE[0]:g}", f"−{abs(WEATHER_RANGE[0]):g}")
"""The label of ``valeur_hors_plage`` in a weather file (the generic one speaks of ages)."""


def _weather_lines(frames: list[pd.DataFrame], spec: ExportSpec) -> list[str]:
    """What ingest would say of a weather file's accepted rows: the days without a reading
    between its first and last (« jours sans relevé … », the phase calendar's holes) and the
    days read twice, per station; nothing for a file of alert periods."""
    if not any("tmin" in f or "tmax" in f for f in frames):
        return []
    readings = pd.concat(frames, ignore_index=True)
    if "station" not in readings:
        readings["station"] = ""
    readings["date"] = pd.to_datetime(readings["date"]).dt.normalize()
    out = []
    for station, days in readings.groupby(readings["station"].fillna("").astype(str))["date"]:
        name = f"station {station}" if station else "sans station"
        twice = days[days.duplicated()].drop_duplicates()
        if len(twice):
            out.append(
                f"jours relevés deux fois ({name}) : {len(twice)} ("
                + ", ".join(f"{d:%d/%m/%Y}" for d in twice[:MAX_LINE_ITEMS])
                + (" …" if len(twice) > MAX_LINE_ITEMS else "")
                + ") ; l'ingestion garde le relevé du dernier fichier lu."
            )
        span = pd.date_range(days.min(), days.max(), freq="D")
        gaps = span.difference(pd.DatetimeIndex(days.unique()))
        if len(gaps):
            out.append(
                f"jours sans relevé retenu ({name}, entre le {days.min():%d/%m/%Y} et le "
                f"{days.max():%d/%m/%Y} ; absents du fichier ou mis de côté) : {len(gaps)} ("
                + ", ".join(f"{d:%d/%m/%Y}" for d in gaps[:MAX_LINE_ITEMS])
                + (" …" if len(gaps) > MAX_LINE_ITEMS else "")
                + ") ; ces jours ne déclencheraient aucune phase des plans : téléchargez-les "
                "à nouveau (opendata.meteo.be)."
            )
    return out


def _coverage_proposal(frame: pd.DataFrame, spec: ExportSpec) -> dict[str, Any] | None:
    """The periods this file's accepted rows suggest, and the block to paste (None: no dates)."""
    column = "date_start" if spec.table == "contacts" else "date"
    if column not in frame or frame[column].notna().sum() == 0:
        return None
    proposal = propose_periods(frame[column])
    return {**proposal.record(), "yaml": periods_yaml(proposal.periods)}


def _coverage_lines(report: CheckReport) -> list[str]:
    """What the check says about the months the file covers (never a cell value)."""
    prop = report.coverage_proposed
    if prop is None:
        return []
    periods = [(pd.Period(a, freq="M"), pd.Period(b, freq="M")) for a, b in prop["periods"]]
    out = ["", f"Couverture proposée d'après ce fichier : {periods_text(periods)}."]
    if prop["stray_rows"]:
        years = ", ".join(sorted({m[:4] for m in prop["stray_months"]}))
        out.append(
            f"  {_lines_word(prop['stray_rows'])} isolée(s) ({years}) : datée(s) à plus de "
            f"{STRAY_GAP_MONTHS} mois de toutes les autres et moins de "
            f"{french_percent(100 * STRAY_SHARE, 0)} des lignes, elles ne comptent pas dans la "
            "couverture proposée (le pipeline les mettrait de côté : ligne_isolee)."
        )
    if report.coverage_declared:
        declared = [
            (pd.Period(a, freq="M"), pd.Period(b, freq="M")) for a, b in report.coverage_declared
        ]
        out.append(f"  Couverture déclarée dans la correspondance : {periods_text(declared)}.")
        end = max(b for _, b in periods) if periods else None
        year_end = pd.Period(year=report.year, month=12, freq="M") if report.year else None
        if end is not None and year_end is not None and end < year_end:
            uncovered = [
                m
                for m in pd.period_range(end + 1, year_end, freq="M")
                if any(a <= m <= b for a, b in declared)
                and month_text(m) not in report.coverage_off_season
            ]
            if len(uncovered) > 1:
                out.append(
                    f"  Ce fichier s'arrête en {periods_text([(end, end)]).split(' à ')[0]} alors "
                    f"que la couverture déclarée va au-delà : si l'export s'arrête là, "
                    f"déclarez last: {end.year:04d}-{end.month:02d} (année partielle, signalée "
                    "dans le rapport) ; sinon demandez les mois manquants."
                )
    else:
        out.append(
            "  Aucune couverture déclarée : après vérification avec le partenaire, copiez ce bloc "
            f"dans params/partners/{report.partner_id}.yaml (une période par envoi continu ; "
            "réunissez les années de plusieurs fichiers) :"
        )
        out.extend(f"    {line}" for line in prop["yaml"].splitlines())
    return out


def _spec_joining(specs: list[ExportSpec], column: str) -> ExportSpec:
    """The export whose join reads its key from ``column`` (the first export otherwise)."""
    for spec in specs:
        if spec.joins and _join_of(spec, [column]) is not None:
            return spec
    return specs[0]


_IDENTITY_FORMS = {
    "surname": normalise_name,
    "first_name": normalise_name,
    "initials": normalise_initials,
    "birth_date": lambda v: "" if pd.isna(v) else str(v),
}
"""Identity fields checked for a placeholder, with the form they are compared in (that of
the tokens the linkage receives)."""


def constant_identity_notes(
    frame: pd.DataFrame | None, spec: ExportSpec, checks: IdentityChecks | None = None
) -> list[str]:
    """Notes on identity columns that are constant or nearly so in this file: one value for
    at least ``checks.constant_share`` of the records carrying the column (and at least
    ``checks.constant_min_records`` of them), a record being a distinct ``local_id`` when
    there is one. The same rule as the link stage's (:mod:`observatoire.linkage.safeguards`),
    which will treat that value as missing for the partner. Values are never printed."""
    checks = checks or IdentityChecks()
    if frame is None or frame.empty:
        return []
    has_ids = "local_id" in frame and frame["local_id"].notna().any()
    records = frame.drop_duplicates("local_id") if has_ids else frame
    notes = []
    for fname, form in _IDENTITY_FORMS.items():
        if fname not in records or fname not in spec.columns:
            continue
        values = records[fname].dropna().map(form)
        values = values[values != ""]
        if values.empty:
            continue
        top = int(values.value_counts().iloc[0])
        if top >= checks.constant_min_records and top >= checks.constant_share * len(values):
            unit = "dossiers" if has_ids else "lignes"
            notes.append(
                f"colonne « {spec.columns[fname].column} » ({fname}) presque constante : une "
                f"même valeur pour {_n(top)} des {_n(len(values))} {unit} où elle est remplie "
                f"({100 * top / len(values):.0f} %). Valeur de remplacement probable (le "
                "logiciel écrit la même chose pour tout le monde) : la liaison la traitera "
                "comme manquante pour ce partenaire. Demandez un export avec les vraies "
                "valeurs, ou retirez la colonne de la correspondance."
            )
    if has_ids and len(frame) >= checks.constant_min_records and frame["local_id"].nunique() == 1:
        notes.append(
            f"colonne « {spec.columns['local_id'].column} » (local_id) constante : un seul "
            f"identifiant pour les {_n(len(frame))} lignes, qui seraient comptées comme une "
            "seule personne. Vérifiez que la colonne porte bien l'identifiant de la personne."
        )
    return notes


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _lines_word(n: int) -> str:
    return f"{_n(n)} ligne" if n == 1 else f"{_n(n)} lignes"


def render_text(report: CheckReport) -> str:
    """The French report an analyst reads, or pastes into a reply to the partner."""
    out = [f"Vérification de « {report.file} »"]
    if report.partner_name:
        out.append(f"  Partenaire : {report.partner_name} ({report.partner_id})")
    else:
        out.append(f"  Partenaire : {report.partner_id}")
    if report.export:
        out.append(f"  Export : {report.export}")
    if report.expected_format:
        out.append(f"  Format attendu : {report.expected_format}")
    if report.year:
        out.append(f"  Année couverte (d'après le nom du fichier) : {report.year}")
    out.append("")
    if report.mapping_refused:
        refused = str(report.message)
        out.append(refused.replace("Correspondance refusée", "CORRESPONDANCE REFUSÉE", 1))
        out.append(f"  À faire : {report.action}")
        out.append("")
        out.append(
            "Résultat : le fichier n'a pas été vérifié, la correspondance du partenaire est "
            "refusée (l'ingestion s'arrêterait aussi) — code de sortie 2."
        )
        return "\n".join(out)
    if report.status == "rejected":
        out.append(f"FICHIER REFUSÉ : {report.message}")
        out.append(f"  À faire : {report.action}")
        out.append("")
        out.append(
            "Résultat : fichier refusé, à ne pas déposer tel quel dans data_raw/ (l'ingestion "
            "s'arrêterait) — code de sortie 2."
        )
        return "\n".join(out)
    out.append(
        f"Lignes lues : {_n(report.rows_read)} — acceptées : {_n(report.rows_accepted)} — "
        f"mises de côté : {_n(report.rows_quarantined)}"
        + (f" — hors champ : {_n(report.rows_filtered)}" if report.rows_filtered else "")
    )
    out += _relational_lines(report)
    if report.problems:
        out.append("")
        out.append("Lignes mises de côté, par motif (numéros de ligne du fichier) :")
        by_reason: dict[str, list[ProblemGroup]] = {}
        for group in report.problems:
            by_reason.setdefault(group.reason, []).append(group)
        for reason, groups in by_reason.items():
            out.append(
                f"  • {groups[0].label} [{reason}] : {_lines_word(report.reasons.get(reason, 0))}"
            )
            for group in groups:
                where = f"feuille « {group.sheet} », " if group.sheet else ""
                out.append(
                    f"      {where}colonne « {group.column} » : {condense_lines(group.lines)}"
                )
            out.append(f"      À demander au partenaire : {report.actions[reason]}")
    if report.extra_columns:
        out.append("")
        out.append(
            "Colonnes en plus, ignorées (sans conséquence) : "
            + ", ".join(f"« {c} »" for c in report.extra_columns)
        )
    if report.missing_optional_columns:
        out.append(
            "Colonnes facultatives absentes (leurs indicateurs seront incomplets) : "
            + ", ".join(f"« {c} »" for c in report.missing_optional_columns)
        )
    out.extend(_coverage_lines(report))
    if report.weather:
        out.append("")
        out.extend(f"Météo : {line}" for line in report.weather)
    for note in report.notes:
        out.append(f"Remarque : {note}")
    out.append("")
    if report.status == "join_problems":
        unmatched = sum(report.reasons.get(r, 0) for r in JOIN_REASONS)
        out.append(
            f"Résultat : {_lines_word(unmatched)} sur {_n(report.rows_read)} sans correspondance "
            "unique dans les tables jointes : les tables envoyées ne vont pas ensemble "
            "(code de sortie 2). Demandez au partenaire toutes les tables de l'export extraites "
            "le même jour avant de les déposer dans data_raw/."
        )
    elif report.status == "no_rows":
        year = f"{report.year}" if report.year else "la période de ce fichier"
        out.append(
            "Résultat : aucune ligne de données (en-tête seul). Déposé tel quel, le partenaire "
            f"serait « données absentes » pour {year} : le rapport dirait « non reçu » (pas "
            "zéro) et ne calculerait aucune variation. Demandez au partenaire l'export complet "
            "(code de sortie 1)."
        )
    elif report.status == "ok":
        out.append("Résultat : toutes les lignes sont acceptées (code de sortie 0).")
    elif report.status == "days_missing":
        out.append(
            "Résultat : toutes les lignes sont acceptées, mais des jours manquent (code de "
            "sortie 1)."
        )
    else:
        verb = "serait mise" if report.rows_quarantined == 1 else "seraient mises"
        out.append(
            f"Résultat : {_lines_word(report.rows_quarantined)} sur {_n(report.rows_read)} "
            f"{verb} en quarantaine, les autres lues (code de sortie 1)."
        )
    if report.table != "weather":
        out.append(
            "Non vérifié ici (étape `validate`) : nuitées cohérentes avec les dates, valeurs "
            "dans les plages admises (âge, nuitées, durée, refus)."
        )
    elif report.weather_readings:
        out.append(
            "Non vérifié ici : la suite des jours d'un fichier à l'autre (l'ingestion la vérifie "
            "sur tous les fichiers de la source)."
        )
    return "\n".join(out)


def _relational_lines(report: CheckReport) -> list[str]:
    """Rows out of scope (not errors) and, for a file several exports read, each one's share."""
    out: list[str] = []
    if report.exports_detail:
        out.append("")
        out.append("Exports qui lisent ce fichier (une ligne n'est comptée qu'une fois) :")
        for name, acc in report.exports_detail.items():
            out.append(
                f"  • {name} : {_n(acc['rows_accepted'])} acceptées, "
                f"{_n(acc['rows_quarantined'])} mises de côté, {_n(acc['rows_filtered'])} hors "
                "de son champ"
            )
    if report.filters:
        out.append("")
        out.append(
            f"Lignes hors champ (filtres where de la correspondance ; ni erreurs ni comptées) : "
            f"{_n(report.rows_filtered)}"
        )
        for condition, n in report.filters.items():
            out.append(f"  • hors du filtre {condition} : {_lines_word(n)}")
    return out


def run_check(
    file: Path,
    partner_id: str,
    as_json: bool,
    inputs: InputsSettings,
    limits: ReadLimits | None = None,
) -> int:
    """CLI entry point: print the report (text or JSON) and return the exit code."""
    report = check_file(file, partner_id, inputs, limits)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return report.exit_code
