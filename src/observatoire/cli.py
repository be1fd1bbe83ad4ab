"""Command line of the observatory: the pipeline's stages and the analyst's tools.

Each ``dvc.yaml`` stage has the verb of its name (``generate_sample`` → ``generate-sample``,
``leak_guard`` → ``leak-guard``); the verbs of earlier versions stay as aliases. The params file
is read and checked once, here, and the typed :class:`~observatoire.config.settings.Settings`
handed to the stage. Bad input never ends in a traceback: errors are explained in French, with
what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings, load_settings
from observatoire.core.errors import ObservatoireError

if TYPE_CHECKING:
    from observatoire.intake.mapping import PartnerMapping
    from observatoire.intake.pseudonymise import Pseudonymiser

Command = Callable[[argparse.Namespace, Settings], int]


def _cmd_generate_sample(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.sample.stage import stage_generate_sample

    stage_generate_sample(settings)
    return 0


def _cmd_key_fingerprint(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.intake.key_fingerprint import stage_key_fingerprint

    stage_key_fingerprint(settings)
    return 0


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.intake.stages import stage_ingest

    stage_ingest(settings)
    return 0


def _cmd_identity_index(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.guard.index import stage_identity_index

    stage_identity_index(settings)
    return 0


def _cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.intake.stages import stage_validate

    stage_validate(settings)
    return 0


def _cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.linkage.stage import stage_link

    stage_link(settings)
    return 0


def _cmd_linkage_imputations(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.indicators.linkage_imputations import stage_linkage_imputations

    stage_linkage_imputations(settings)
    return 0


def _notebook(name: str, settings: Settings, params_path: Path) -> int:
    from observatoire.core.notebooks import run_notebook

    report = settings.report
    run_notebook(name, params_path, report.year, report.disclosure_threshold)
    return 0


def _cmd_notebook(args: argparse.Namespace, settings: Settings) -> int:
    return _notebook(args.name, settings, args.params)


def _notebook_stage(name: str) -> Command:
    """The verb of a notebook stage: runs ``notebooks/<name>.py`` like ``notebook <name>``."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        return _notebook(name, settings, args.params)

    return run


def _cmd_youth(args: argparse.Namespace, settings: Settings) -> int:
    """The youth notebook, or, when no one enters the cohort (too few years of data), its
    declared outputs with the reason instead of a failed notebook."""
    import pandas as pd

    from observatoire.core.notebooks import write_note_notebook
    from observatoire.youth.cohort import StudyParams
    from observatoire.youth.outputs import cohort_unavailable_reason, write_unavailable

    study = StudyParams.from_settings(settings)
    # Without the clean contacts (link not run) the notebook itself says what is missing.
    has_contacts = PATHS.contacts.exists()
    reason = (
        cohort_unavailable_reason(pd.read_parquet(PATHS.contacts), study) if has_contacts else None
    )
    if reason is None:
        return _notebook("jeunes", settings, args.params)
    write_unavailable(reason, study.year, PATHS.youth(study.year), PATHS.youth_types)
    write_note_notebook("jeunes", f"Jeunes en errance {study.year} : étude non réalisée", reason)
    print(reason)
    return 0


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.annual.report import build_annual_report

    build_annual_report(settings, args.params)
    return 0


def _cmd_publication(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.publication import build_publication

    build_publication(settings)
    return 0


def _cmd_youth_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.youth.report import build_youth_report

    build_youth_report(settings)
    return 0


def _cmd_street_diagnosis_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.diagnostic.report import build_diagnosis_report

    build_diagnosis_report(settings)
    return 0


def _cmd_relays_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.relays.report import build_relays_report

    build_relays_report(settings)
    return 0


def _cmd_projects_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.projects.report import build_projects_report

    build_projects_report(settings)
    return 0


def _cmd_plans_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.plans.report import build_plans_report

    build_plans_report(settings)
    return 0


def _cmd_barometer_suppression(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.disclosure.apart import search_apart, search_budget

    rep = settings.report
    pub = search_apart("barometre", rep.year, rep.disclosure_threshold, search_budget(settings))
    if pub is None:
        print(f"Baromètre {rep.year} : aucun compte, rien à masquer.")
        return 0
    ledger = pub.ledger()
    print(
        f"Masquage du baromètre {rep.year} : {int(ledger['value'].isna().sum())} case(s) "
        f"masquée(s) sur {len(ledger)} ; l'étape publication le reprend et l'audite avec le "
        f"reste ({PATHS.suppression(rep.year)}/barometre/)."
    )
    return 0


def _cmd_barometer_report(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.barometre.report import build_barometre_report

    build_barometre_report(settings)
    return 0


def _cmd_maps(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.maps.stage import build_maps

    build_maps(settings)
    return 0


def _cmd_quality(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.quality import build_quality_sheets

    build_quality_sheets(settings, args.params)
    return 0


def _cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.disclosure.archive import LEDGER, archive_release
    from observatoire.reports.common import code_version

    year = args.year
    written = archive_release(
        year,
        PATHS.tables(year) / LEDGER,
        PATHS.release(year),
        settings.report.disclosure_threshold,
        code_version(),
    )
    print(
        f"Publication {year} archivée : {written} (statuts et valeurs publiées, aucune valeur "
        f"masquée). Ajoutez-la au dépôt : git add {PATHS.release(year)} ; le rapport "
        f"{year + 1} se protégera contre ce qui a réellement été publié."
    )
    return 0


def _cmd_partners(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.core.coverage import season_text
    from observatoire.core.dispositifs import DISPOSITIFS
    from observatoire.intake.mapping import load_partners

    if args.schema or args.markdown:
        from observatoire.intake.mapping_reference import reference_markdown, reference_text

        sys.stdout.write(reference_markdown() if args.markdown else reference_text())
        return 0

    everyone = load_partners(
        settings.inputs.partners_dir, settings.inputs.codes_dir, weather=True, field=True
    )
    services = [p for p in everyone.values() if p.service]
    sources = [p for p in everyone.values() if p.weather_only]
    field_sources = [p for p in everyone.values() if p.field_only and not p.project_only]
    projects = [p for p in everyone.values() if p.project_only]
    print(f"Partenaires ({len(services)}) :")
    for p in services:
        dispositifs = ", ".join(DISPOSITIFS[d] for d in p.dispositifs)
        print(f"{p.partner_id} — {p.name} ({dispositifs} ; une ligne : {p.row_unit})")
        if p.season:
            print(
                f"    saisonnier : ouvert {season_text(p.season)} (hors saison le reste de "
                "l'année : ni manquant ni partiel)"
            )
        _print_exports(p)
    if sources:
        print(
            f"\nSources ({len(sources)}) : la météo, pas des partenaires (ni dispositif, ni fiche "
            "qualité, ni couverture ; lues par ingest vers data_clean/weather.parquet) :"
        )
        for p in sources:
            print(f"{p.partner_id} — {p.name} (météo ; une ligne : {p.row_unit})")
            _print_exports(p)
    if field_sources:
        print(
            f"\nRelevés de terrain ({len(field_sources)}) : formulaires KoboToolbox ou ODK et "
            "défraiements, pas des contacts (ni dispositif, ni couplage ; lus par ingest vers "
            "data_clean/field/, voir docs/formulaires.md) :"
        )
        for p in field_sources:
            form = f" ; formulaire {p.form}" if p.form else ""
            print(f"{p.partner_id} — {p.name} (une ligne : {p.row_unit}{form})")
            _print_exports(p)
    if projects:
        print(
            f"\nProjets ({len(projects)}) : le suivi d'un projet (activités, présences, suivis "
            "individuels, conseil, budget ; tableurs de l'équipe et formulaire presence_activite), "
            "pas des contacts (l'identifiant est celui du projet ; lus par ingest vers "
            "data_clean/field/project_*.parquet, voir docs/formulaires.md) :"
        )
        for p in projects:
            form = f" ; formulaire {p.form}" if p.form else ""
            print(f"{p.partner_id} — {p.name} (une ligne : {p.row_unit}{form})")
            _print_exports(p)
    return 0


def _print_exports(p: PartnerMapping) -> None:
    """The exports of one mapping: files, dispositif, joins, filters, format, required columns."""
    from observatoire.core.dispositifs import DISPOSITIFS

    for e in p.exports:
        required = [c.column for c in e.columns.values() if c.required]
        print(f"    export « {e.name} » : {e.files}")
        if len(p.dispositifs) > 1:
            print(f"      dispositif : {DISPOSITIFS[e.dispositif]}")
        for j in e.joins:
            print(f"      jointure « {j.name} » : {j.files}")
        for w in e.where:
            print(f"      filtre : {w.describe()}")
        print(f"      format : {e.format.describe()}")
        if e.table == "weather" or p.field_only:
            if p.field_only:
                print(f"      table : {e.table}")
            fields = ", ".join(f"{c.column} → {name}" for name, c in e.columns.items())
            print(f"      champs : {fields}")
        print(f"      colonnes obligatoires : {', '.join(required) or '(aucune)'}")


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.intake.check import run_check

    return run_check(
        args.file,
        args.partner,
        as_json=args.json,
        inputs=settings.inputs,
        limits=settings.ingest.limits,
    )


def _cmd_leak_guard(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.guard.leaks import run_guard

    return run_guard(settings)


def _cmd_pseudonym(args: argparse.Namespace, settings: Settings) -> int:
    from getpass import getpass

    from observatoire.intake.pseudonymise import Pseudonymiser, load_key
    from observatoire.linkage.overrides import record_key_of

    ing = settings.ingest
    key = load_key(Path("."), ing.key_env, ing.key_file_env, create=False)
    if args.volontaire:
        return _volunteer_pseudonym(Pseudonymiser(key), settings, getpass)
    local_id = getpass(f"Identifiant local du dossier chez « {args.partner} » (non affiché) : ")
    if not local_id.strip():
        print("Aucun identifiant saisi.", file=sys.stderr)
        return 1
    print(record_key_of(args.partner, local_id, Pseudonymiser(key)))
    return 0


def _volunteer_pseudonym(
    pseudo: Pseudonymiser, settings: Settings, ask: Callable[[str], str]
) -> int:
    """A volunteer's pseudonym (as ingest computes ``relay_id``) and the code printed on their
    statements, read from the ``relays`` stage's internal table when it exists."""
    import pandas as pd

    from observatoire.field.relays import INTERNAL, relay_codes
    from observatoire.intake.field import relay_pseudonym_of

    code = ask("Code du volontaire (habitant-relais, p. ex. HR03 ; non affiché) : ")
    if not code.strip():
        print("Aucun code saisi.", file=sys.stderr)
        return 1
    token = relay_pseudonym_of(code, pseudo)
    print(token)
    year = settings.report.year
    table = PATHS.relays(year) / INTERNAL / "volontaires.csv"
    known = pd.read_csv(table, dtype=str) if table.exists() and table.stat().st_size else None
    if known is not None and {"relay_id", "code"} <= set(known.columns):
        match = known.loc[known["relay_id"] == token, "code"]
        if len(match):
            print(f"Code de ses relevés {year} : {match.iloc[0]}")
        else:
            print(
                f"Aucun défraiement ni relevé {year} pour ce pseudonyme ({table}) : vérifiez le "
                "code saisi (p. ex. HR03) et la clé de pseudonymisation."
            )
        return 0
    print(
        f"Code de ses relevés : {relay_codes([token])[token]} (les quatre premiers caractères du "
        "pseudonyme, davantage si deux volontaires les partagent ; lancez « observatoire "
        "relays » pour le code exact)."
    )
    return 0


def _cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.annual.summary import print_summary

    print_summary(settings)
    return 0


def _cmd_repro(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.core.lock import project_lock
    from observatoire.core.scheduler import repro

    root = Path(".")
    handlers = _interrupt_on_sigterm()  # SIGTERM stops the stages running, as Ctrl-C does
    try:
        with project_lock(root, "repro", wait_s=args.attendre):
            _sweep(root)
            try:
                repro(root, jobs=args.jobs, force=args.force)
            finally:
                _sweep(root)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return 0


def _cmd_external_trend(args: argparse.Namespace, settings: Settings) -> int:
    from observatoire.reports.external import run_external_trend

    return run_external_trend(
        args.serie,
        settings.report,
        with_forecast=args.prevision,
        label=args.libelle,
        out_dir=args.sortie,
    )


# The DVC stages, in pipeline order: stage name → (verb, former verbs kept as aliases, command,
# help). ``dvc.yaml`` calls ``observatoire <verb>``; a test keeps both lists in step.
STAGES: dict[str, tuple[str, tuple[str, ...], Command, str]] = {
    "generate_sample": (
        "generate-sample",
        (),
        _cmd_generate_sample,
        "génère l'échantillon synthétique (exports des partenaires et vérité terrain)",
    ),
    "key_fingerprint": (
        "key-fingerprint",
        (),
        _cmd_key_fingerprint,
        "empreinte de la clé de pseudonymisation configurée (jamais la clé) ; refuse une clé "
        "qui n'est pas celle des données",
    ),
    "ingest": ("ingest", (), _cmd_ingest, "lit et pseudonymise les exports des partenaires"),
    "identity_index": (
        "identity-index",
        (),
        _cmd_identity_index,
        "index des identités des exports bruts pour le garde-fou (empreintes à clé, jamais en "
        "clair)",
    ),
    "validate": (
        "validate",
        (),
        _cmd_validate,
        "valide les tables canoniques (great-expectations)",
    ),
    "link": ("link", (), _cmd_link, "relie les personnes entre partenaires"),
    "linkage_imputations": (
        "linkage-imputations",
        (),
        _cmd_linkage_imputations,
        "porte l'erreur de liaison dans les comptes (liens tirés selon leurs probabilités)",
    ),
    "indicators": (
        "indicators",
        (),
        _notebook_stage("indicateurs"),
        "exécute le carnet des indicateurs annuels (notebooks/indicateurs.py)",
    ),
    "trends": (
        "trends",
        (),
        _notebook_stage("tendances"),
        "exécute le carnet des tendances et de la prévision (notebooks/tendances.py)",
    ),
    "youth": (
        "youth",
        (),
        _cmd_youth,
        "exécute le carnet de l'étude « jeunes en errance » (notebooks/jeunes.py)",
    ),
    "plans": (
        "plans",
        (),
        _notebook_stage("plans"),
        "exécute le carnet des plans saisonniers : bilans, effet de la température, lits "
        "nécessaires (notebooks/plans.py)",
    ),
    "publication": (
        "publication",
        (),
        _cmd_publication,
        "décide et écrit tout ce que l'année publie (tableaux, registre, audit du secret)",
    ),
    "quality": (
        "quality",
        ("qualite",),
        _cmd_quality,
        "produit la fiche qualité des données de chaque partenaire (HTML et PDF)",
    ),
    "report": ("report", (), _cmd_report, "produit le rapport annuel (HTML et PDF)"),
    "youth_report": (
        "youth-report",
        ("report-jeunes",),
        _cmd_youth_report,
        "produit le rapport « jeunes en errance » (HTML et PDF)",
    ),
    "leak_guard": (
        "leak-guard",
        ("guard",),
        _cmd_leak_guard,
        "vérifie qu'aucune identité ne fuit dans data_clean/ et outputs/",
    ),
    "plans_report": (
        "plans-report",
        ("rapport-plans",),
        _cmd_plans_report,
        "produit les bilans des plans saisonniers et la note de préparation de l'hiver "
        "(HTML et PDF)",
    ),
    "maps": (
        "maps",
        ("cartes",),
        _cmd_maps,
        "produit les cartes des plans saisonniers (PDF A4 et A3, carte HTML), le dépliant "
        "« Où trouver de l'aide » et la carte des zones",
    ),
    "street_diagnosis": (
        "street-diagnosis",
        (),
        _notebook_stage("diagnostic"),
        "exécute le carnet du diagnostic communautaire de quartier (notebooks/diagnostic.py)",
    ),
    "street_diagnosis_report": (
        "street-diagnosis-report",
        (),
        _cmd_street_diagnosis_report,
        "produit le diagnostic communautaire de quartier : un document par zone et une "
        "synthèse (HTML et PDF)",
    ),
    "relays": (
        "relays",
        ("relais",),
        _notebook_stage("relais"),
        "exécute le carnet des habitants-relais : prestations, besoins, défraiements et "
        "plafonds légaux (notebooks/relais.py)",
    ),
    "relays_report": (
        "relays-report",
        ("rapport-relais",),
        _cmd_relays_report,
        "produit le rapport des habitants-relais (HTML et PDF), la fiche mensuelle du comité "
        "et les relevés internes par volontaire",
    ),
    "barometer": (
        "barometer",
        (),
        _notebook_stage("barometre"),
        "exécute le carnet du baromètre des violences : incidents, taux, tendance, enquête, "
        "témoignages (notebooks/barometre.py)",
    ),
    "barometer_suppression": (
        "barometer-suppression",
        (),
        _cmd_barometer_suppression,
        "cherche le masquage (secret statistique) des comptes du baromètre dès qu'ils sont "
        "calculés ; l'étape publication le reprend et l'audite avec tout le reste",
    ),
    "barometer_report": (
        "barometer-report",
        (),
        _cmd_barometer_report,
        "produit le baromètre des violences (HTML et PDF)",
    ),
    "projects": (
        "projects",
        ("projets",),
        _notebook_stage("projets"),
        "exécute le carnet des projets suivis : participation, affiliation, objectifs, budget "
        "(notebooks/projets.py)",
    ),
    "projects_report": (
        "projects-report",
        ("rapport-projets",),
        _cmd_projects_report,
        "produit le rapport de suivi de chaque projet (HTML et PDF) et ses fiches d'activité "
        "mensuelles (XLSX et PDF)",
    ),
}


class _FrenchHelp(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # noqa: ANN001
        super().add_usage(usage, actions, groups, "utilisation : " if prefix is None else prefix)


# argparse's own messages (it has no French catalogue installed): the phrases it prints on a
# mistyped command line, in French.
_ARGPARSE_FRENCH = (
    ("the following arguments are required:", "arguments obligatoires manquants :"),
    ("unrecognized arguments:", "arguments inconnus :"),
    ("invalid choice:", "choix inconnu :"),
    ("choose from", "choisir parmi"),
    ("expected one argument", "une valeur est attendue"),
    ("expected at least one argument", "au moins une valeur est attendue"),
    ("invalid int value:", "nombre entier attendu, reçu"),
    ("not allowed with argument", "incompatible avec l'argument"),
    ("one of the arguments", "il faut l'un des arguments"),
    (" is required", ""),
    ("ambiguous option:", "option ambiguë :"),
    ("could match", "peut désigner"),
)


class FrenchParser(argparse.ArgumentParser):
    """argparse with its help headings, usage line, ``-h`` and errors in French."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _FrenchHelp)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="affiche cette aide et quitte")

    def error(self, message: str) -> NoReturn:
        for english, french in _ARGPARSE_FRENCH:
            message = message.replace(english, french)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n  Aide : {self.prog} --help\n")


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(
            f"attendu un nombre entier au moins égal à 1, pas {value!r}"
        )
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchParser(
        prog="observatoire",
        description="Observatoire de la précarité sociale : étapes du pipeline (mêmes noms que "
        "dans dvc.yaml) et outils de l'analyste.",
    )
    parser.add_argument(
        "--params", type=Path, default=PATHS.params, help="fichier de paramètres (YAML)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    parser.add_argument(
        "--attendre",
        type=float,
        default=0.0,
        metavar="SECONDES",
        help="si une autre étape occupe le projet, l'attendre au plus ce nombre de secondes "
        "(défaut : refuser tout de suite)",
    )
    for stage, (verb, aliases, func, text) in STAGES.items():
        p = sub.add_parser(verb, aliases=list(aliases), help=text, description=text)
        p.set_defaults(func=func, stage=stage)
    par = sub.add_parser(
        "partners",
        help="liste les partenaires et le format attendu de leurs exports",
        description="Liste les partenaires et le format attendu de leurs exports (chaque "
        "correspondance est vérifiée). Avec --schema : la référence de toutes les clés d'un "
        "fichier de correspondance.",
    )
    par.add_argument(
        "--schema",
        action="store_true",
        help="affiche la référence des clés des fichiers de correspondance (type, valeurs "
        "admises, défaut, exemple)",
    )
    par.add_argument(
        "--markdown",
        action="store_true",
        help="la référence en Markdown (docs/correspondances.md) ; implique --schema",
    )
    par.set_defaults(func=_cmd_partners)
    text = (
        "refait le pipeline comme « dvc repro », deux étapes indépendantes à la fois (ce que "
        "fait « make run »)"
    )
    rep = sub.add_parser("repro", help=text, description=text[0].upper() + text[1:] + ".")
    rep.add_argument(
        "-f", "--force", action="store_true", help="refait toutes les étapes (dvc repro -f)"
    )
    rep.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=2,
        metavar="N",
        help="étapes à la fois (défaut : 2 ; 1 : l'une après l'autre)",
    )
    rep.set_defaults(func=_cmd_repro)
    text = "résume ce que le pipeline a produit et où"
    p = sub.add_parser("summary", help=text, description=text)
    p.set_defaults(func=_cmd_summary)
    chk = sub.add_parser(
        "check",
        help="vérifie un export dès sa réception, sans lancer le pipeline",
        description="Vérifie un export d'un partenaire : lignes lues, acceptées, mises de côté, "
        "avec la ligne, la colonne et le motif de chaque problème. Code de sortie : 0 si tout "
        "est accepté, 1 si des lignes sont mises de côté, 2 si le fichier est refusé.",
    )
    chk.add_argument("file", type=Path, help="le fichier reçu")
    chk.add_argument("--partner", required=True, help="identifiant du partenaire (voir `partners`)")
    chk.add_argument("--json", action="store_true", help="résultat en un objet JSON")
    chk.set_defaults(func=_cmd_check)
    pse = sub.add_parser(
        "pseudonyme",
        help="pseudonyme d'un dossier partenaire (params/linkage_overrides.yaml) ou d'un "
        "habitant-relais (relevés des défraiements)",
        description="Calcule avec la clé secrète le pseudonyme (record_key) d'un identifiant "
        "local de partenaire, saisi sans être affiché ni enregistré. Avec --volontaire : le "
        "pseudonyme d'un habitant-relais (relay_id) à partir de son code de volontaire "
        "(« HR03 »), et le code de ses relevés (« R-68D3 »).",
    )
    who = pse.add_mutually_exclusive_group(required=True)
    who.add_argument("--partner", help="identifiant du partenaire (voir `partners`)")
    who.add_argument(
        "--volontaire",
        action="store_true",
        help="le code saisi est celui d'un habitant-relais (colonne « Code volontaire » du "
        "tableau des défraiements, fiche « prestation/relais ») : imprime son pseudonyme et le "
        "code de ses relevés internes",
    )
    pse.set_defaults(func=_cmd_pseudonym)
    rel = sub.add_parser(
        "publier",
        aliases=["release"],
        help="archive dans publications/ANNÉE/ ce qui a été publié pour une année",
        description="Archive le registre des cases publiées d'une année (statut et valeur "
        "publiée de chaque nombre, jamais une valeur masquée) dans publications/ANNÉE/, à "
        "ajouter au dépôt git : l'audit de l'année suivante lit cette archive au lieu de "
        "recalculer l'an dernier. Une archive n'est jamais réécrite.",
    )
    rel.add_argument("year", type=int, metavar="ANNÉE", help="l'année publiée")
    rel.set_defaults(func=_cmd_release, stage="publier")
    ten = sub.add_parser(
        "tendance",
        help="tendance, saisonnalité et prévision d'une série mensuelle extérieure (CSV)",
        description="Applique à une série mensuelle fournie par l'analyste (fichier CSV de deux "
        "colonnes : « month » ou « mois » au format AAAA-MM, « value » ou « valeur ») les modèles "
        "du carnet des tendances : modèle mensuel (tendance et effets de mois, diagnostics), "
        "décomposition STL, tendance des totaux annuels et, avec --prevision, prévision de "
        "l'hiver à venir avec intervalles de prévision, validée contre des prévisions naïves. "
        "Écrit tendance.json, les tableaux CSV, un graphique et un résumé en français dans "
        "outputs/trends/series_externes/NOM/. Code de sortie 2 si le fichier est refusé "
        "(docs/tendances.md).",
    )
    ten.add_argument("--serie", type=Path, required=True, metavar="FICHIER", help="le CSV")
    ten.add_argument(
        "--prevision", action="store_true", help="prévoit aussi l'hiver à venir (24 mois au moins)"
    )
    ten.add_argument(
        "--libelle", default="valeurs", help="ce que compte la série, pour les phrases (« repas »)"
    )
    ten.add_argument(
        "--sortie",
        type=Path,
        default=None,
        metavar="DOSSIER",
        help="dossier des résultats (défaut : outputs/trends/series_externes/<nom du fichier>)",
    )
    ten.set_defaults(func=_cmd_external_trend)
    nb = sub.add_parser("notebook", help="exécute un carnet d'analyse (papermill)")
    nb.add_argument("name", help="nom du carnet dans notebooks/ (sans extension)")
    nb.set_defaults(func=_cmd_notebook, stage="notebook")
    return parser


@contextlib.contextmanager
def _stage_run(stage: str, verb: str, wait_s: float) -> Iterator[None]:
    """What every verb that writes pipeline outputs runs inside: SIGTERM (how DVC and the system
    stop a process) raises KeyboardInterrupt like Ctrl-C, so that temporaries are removed and
    notebook kernels shut down; the project lock (one stage at a time, unless the stage runs for
    ``observatoire repro``, which holds it); the stage's name in the environment (temporaries
    and kernels carry it); and the debris of killed runs swept."""
    from observatoire.core.lock import project_lock, run_for_holder
    from observatoire.core.storage import STAGE_ENV

    root = Path(".")
    previous_env = os.environ.get(STAGE_ENV)
    handlers = _interrupt_on_sigterm()
    os.environ[STAGE_ENV] = stage
    try:
        if run_for_holder(root):  # `observatoire repro` holds the lock and swept for us
            yield
            return
        with project_lock(root, verb, wait_s=wait_s):
            _sweep(root)
            yield
    finally:
        if previous_env is None:
            os.environ.pop(STAGE_ENV, None)
        else:
            os.environ[STAGE_ENV] = previous_env
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_sigterm() -> dict[int, object]:
    """Install the SIGTERM/SIGHUP handlers; returns the previous ones (none off the main
    thread, where Python allows no handler)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, _interrupt)
    return previous


def _sweep(root: Path) -> None:
    """Remove what killed runs left: temporary entries and orphan notebook kernels."""
    from observatoire.core.notebooks import stop_orphan_kernels
    from observatoire.core.storage import sweep_temporaries

    removed = sweep_temporaries(root)
    if removed:
        shown = ", ".join(str(p) for p in removed[:3]) + (" …" if len(removed) > 3 else "")
        print(
            f"Nettoyage : {len(removed)} entrée(s) temporaire(s) laissée(s) par une exécution "
            f"interrompue, supprimée(s) ({shown})."
        )
    kernels = stop_orphan_kernels(root)
    if kernels:
        print(
            "Nettoyage : noyau(x) Jupyter orphelin(s) d'une exécution interrompue arrêté(s) "
            f"(processus {', '.join(map(str, kernels))})."
        )


def _name_profile(args: argparse.Namespace) -> None:
    """Name the profiled run after its DVC stage (or its verb, for the analyst's tools)."""
    from observatoire.core import profiling

    profile = profiling.current()
    if profile is not None:
        profile.stage = getattr(args, "stage", None) or args.command


KEY_UNCHECKED = {"generate_sample", "key_fingerprint", "ingest"}
"""Stages before the pseudonymised data exist (key_fingerprint and ingest check for themselves)."""


def _check_key(args: argparse.Namespace, settings: Settings) -> None:
    """Every stage reading pseudonymised data, and the pseudonym tool, stop on a changed key."""
    stage = getattr(args, "stage", None)
    if (stage and stage not in KEY_UNCHECKED) or args.command in {"pseudonyme", "notebook"}:
        from observatoire.intake.key_fingerprint import check_configured_key

        check_configured_key(settings)


def main(argv: list[str] | None = None) -> int:
    from observatoire.core import profiling

    profile = profiling.begin()
    status = 1
    try:
        status = _main(argv)
    except SystemExit as exc:  # argparse's --help and errors
        status = exc.code if isinstance(exc.code, int) else 1
        raise
    finally:
        profile.finish(status)
    return status


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _name_profile(args)
    try:
        settings = load_settings(args.params)
        _check_key(args, settings)
        stage = getattr(args, "stage", None)
        if stage is None:  # the analyst's tools only read, or write outside the pipeline
            return args.func(args, settings)
        with _stage_run(stage, args.command, args.attendre):
            return args.func(args, settings)
    except ObservatoireError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`observatoire check --json | head`): stop quietly,
        # and keep Python from printing a second error when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
