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
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import yaml

from observatoire.config.settings import IdentityChecks, InputsSettings
from observatoire.core.errors import ExportRejected, MappingError, ObservatoireError
from observatoire.core.schema import QUARANTINE_REASONS
from observatoire.intake.identity import normalise_initials, normalise_name
from observatoire.intake.ingest import FileResult, export_year, read_partner_file
from observatoire.intake.mapping import ColumnSpec, ExportSpec, PartnerMapping, load_mapping

__all__ = [
    "DATE_WORDS",
    "EXIT_CODES",
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
    "find_partner",
    "fix_sentence",
    "human_date_format",
    "render_text",
    "run_check",
]

EXIT_CODES = {"ok": 0, "rows_set_aside": 1, "rejected": 2}
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


@dataclass
class CheckReport:
    """What the check found; rendered as French text or as one JSON object."""

    status: str
    file: str
    partner_id: str
    partner_name: str | None = None
    export: str | None = None
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

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
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
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    if reason == "valeur_hors_plage":
        return f"corriger {cols} : la valeur est hors de la plage admise."
    return "vérifier ces lignes."


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


def check_file(file: Path, partner_id: str, inputs: InputsSettings) -> CheckReport:
    """Read one export as the pipeline would and report, without writing anything."""
    file = Path(file)
    report = CheckReport(status="rejected", file=str(file), partner_id=partner_id)
    try:
        partner = find_partner(
            inputs.partners_dir,
            inputs.codes_dir,
            partner_id,
        )
        report.partner_name = partner.name
        if not file.is_file():
            what = "est un dossier" if file.is_dir() else "est introuvable"
            raise CheckRejected(
                f"le fichier « {file} » {what}.", "vérifiez le chemin et le nom du fichier."
            )
        spec, report.notes = find_export(partner, file)
        report.export = spec.name
        report.expected_format = spec.format.describe()
        report.year = export_year(spec, file)
        if spec.period_from_filename and report.year is None:
            report.notes.append(
                "pas d'année dans le nom du fichier : les dates n'ont pas été comparées à "
                "l'année couverte (le pipeline lit l'année dans le nom)."
            )
        result, _ = read_partner_file(file, str(file), partner, spec)
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
    for reason in dict.fromkeys(g.reason for g in report.problems):
        columns = [g.column for g in report.problems if g.reason == reason]
        report.actions[reason] = fix_sentence(reason, spec, columns, report.year)
    report.extra_columns = list(result.extra_columns)
    report.missing_optional_columns = list(result.missing_optional)
    if result.rows_read == 0:
        report.notes.append("le fichier ne contient aucune ligne de données.")
    report.notes.extend(constant_identity_notes(result.accepted, spec))
    report.status = "rows_set_aside" if result.rows_quarantined else "ok"
    return report


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
    )
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
                out.append(f"      colonne « {group.column} » : {condense_lines(group.lines)}")
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
    for note in report.notes:
        out.append(f"Remarque : {note}")
    out.append("")
    if report.status == "ok":
        out.append("Résultat : toutes les lignes sont acceptées (code de sortie 0).")
    else:
        verb = "serait mise" if report.rows_quarantined == 1 else "seraient mises"
        out.append(
            f"Résultat : {_lines_word(report.rows_quarantined)} sur {_n(report.rows_read)} "
            f"{verb} en quarantaine, les autres lues (code de sortie 1)."
        )
    out.append(
        "Non vérifié ici (étape `validate`) : nuitées cohérentes avec les dates, valeurs dans "
        "les plages admises (âge, nuitées, durée, refus)."
    )
    return "\n".join(out)


def run_check(file: Path, partner_id: str, as_json: bool, inputs: InputsSettings) -> int:
    """CLI entry point: print the report (text or JSON) and return the exit code."""
    report = check_file(file, partner_id, inputs)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return report.exit_code
