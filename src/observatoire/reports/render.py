"""Render a report written in Quarto markdown (``.qmd``) to HTML and PDF, with or without Quarto.

Quarto cannot be installed from the registries our machines reach, so the same sources must
render through pandoc + Typst directly. When ``quarto`` is on the PATH it is used as is, one
command per format run in the source folder (outputs then moved to ``out_dir``)::

    quarto render SRC.qmd --to html -M embed-resources:true
    quarto render SRC.qmd --to typst          # Quarto compiles the Typst file to SRC.pdf

Otherwise pandoc reads the source once, a Lua filter
(``assets/render/quarto-compat.lua``) emulates the Quarto features the reports use (numbered
figures and tables, cross-references, callouts, page breaks, key figures), and:

* HTML: pandoc writes one self-contained file (images and CSS embedded);
* PDF: pandoc writes Typst markup through ``assets/render/template.typ``, compiled by the
  ``typst`` Python package with embedded fonts only and a timestamp taken from the report's
  ``date``, so that the same source always gives the same bytes.

Every output is written in a temporary folder inside ``out_dir`` and renamed into place only when
all requested formats succeeded: a failure never leaves a half-written or partial report.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from observatoire.core import yamltext
from observatoire.core.errors import ObservatoireError
from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.storage import temp_dir

__all__ = [
    "ENGINE_PANDOC",
    "ENGINE_QUARTO",
    "FORMATS",
    "RenderError",
    "RenderResult",
    "french_date",
    "render_document",
    "render_documents",
]

ENGINE_QUARTO = "quarto"
ENGINE_PANDOC = "pandoc+typst"
FORMATS = ("html", "pdf")

DEFAULT_PRIMARY = "#1f4e79"
DEFAULT_SECONDARY = "#e07a1f"


_ASSETS = "assets/render"
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
_FILTER_ERROR = re.compile(r"\[observatoire\] (.*)")
_SUBPROCESS_TIMEOUT_S = 600
_DOCUMENTS_AT_ONCE = 2  # the machines have two cores; each document runs two tools at once


class RenderError(ObservatoireError):
    """A report could not be rendered; the French message names the file and what to do."""


@dataclass(frozen=True)
class RenderResult:
    """Which engine rendered the report, and where each requested format was written."""

    engine: str  # "quarto" or "pandoc+typst"
    outputs: dict[str, Path]  # {"html": ..., "pdf": ...}


@dataclass(frozen=True)
class _FrontMatter:
    """The front-matter values the renderer itself needs, validated once."""

    date: dt.date
    colour_primary: str
    colour_secondary: str
    logo: Path | None
    toc: bool
    toc_depth: int
    number_sections: bool
    has_title: bool


def render_document(
    source: Path,
    out_dir: Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    engine: str = "auto",
    keep_intermediate: bool = False,
) -> RenderResult:
    """Render ``source`` to ``out_dir/<stem>.html`` and/or ``out_dir/<stem>.pdf``.

    ``engine`` is ``"auto"`` (Quarto if on the PATH, else pandoc + Typst), ``"quarto"`` or
    ``"pandoc+typst"``. ``keep_intermediate`` keeps the generated ``<stem>.typ`` next to the
    PDF, which helps when debugging the layout.
    """
    return _render(_request(source, out_dir, formats, engine, keep_intermediate))


def render_documents(
    documents: Sequence[tuple[Path, Path]],
    *,
    formats: tuple[str, ...] = FORMATS,
    engine: str = "auto",
) -> list[RenderResult]:
    """Render each ``(source, out_dir)`` as :func:`render_document` does, two at a time.

    pandoc and Typst do their work outside Python's lock (a pandoc process; Typst's compiler
    releases it), so a stage that renders several documents (the street diagnosis' zones, the
    seasonal plans' bilans, the projects, the quality sheets) keeps both cores busy with two
    threads. Each document is staged and renamed into place on its own, exactly as when
    rendered alone, so the bytes do not depend on the order. The sources are checked and the
    engine announced first, in order; the results come back in the order of ``documents``,
    and the first failure in that order is raised once the documents under way have finished
    (those not yet started are dropped). Quarto renders in the source folder and sets files
    aside there: with Quarto the documents are rendered one after the other.
    """
    requests = [_request(source, out, formats, engine, False) for source, out in documents]
    if len(requests) < 2 or any(r.engine == ENGINE_QUARTO for r in requests):
        return [_render(r) for r in requests]
    with ThreadPoolExecutor(max_workers=_DOCUMENTS_AT_ONCE) as pool:
        futures = [pool.submit(_render, r) for r in requests]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


@dataclass(frozen=True)
class _Request:
    """One document to render, checked: what :func:`_render` needs."""

    source: Path
    out_dir: Path
    formats: tuple[str, ...]
    front: _FrontMatter
    engine: str
    keep_intermediate: bool


def _request(
    source: Path, out_dir: Path, formats: tuple[str, ...], engine: str, keep_intermediate: bool
) -> _Request:
    """Check the source and its front matter, choose (and announce) the engine."""
    source = Path(source).resolve()
    out_dir = Path(out_dir).resolve()
    wanted = _check_formats(formats)
    if not source.is_file():
        raise RenderError(
            f"Source du rapport introuvable : {source}. "
            "Vérifiez le chemin, ou lancez d'abord l'étape qui génère le rapport."
        )
    front = _read_front_matter(source)
    chosen, reason = _choose_engine(engine)
    print(f"Rendu : moteur {_engine_label(chosen)} ({reason})")
    return _Request(source, out_dir, wanted, front, chosen, keep_intermediate)


def _render(request: _Request) -> RenderResult:
    """Render into a staging folder of ``out_dir``, then rename every output into place."""
    source, out_dir, wanted = request.source, request.out_dir, request.formats
    out_dir.mkdir(parents=True, exist_ok=True)
    with _staging_dir(out_dir) as staging:
        render = _render_with_quarto if request.engine == ENGINE_QUARTO else _render_with_pandoc
        staged = render(source, staging, wanted, request.front, request.keep_intermediate)
        outputs: dict[str, Path] = {}
        for fmt, path in staged.items():
            target = out_dir / path.name
            os.replace(path, target)
            if fmt in wanted:
                outputs[fmt] = target
    return RenderResult(engine=request.engine, outputs=outputs)


# Engine choice -----------------------------------------------------------------------------------


def _choose_engine(engine: str) -> tuple[str, str]:
    """Return the engine to use and a French explanation, honouring an explicit request."""
    quarto = shutil.which("quarto")
    if engine == "auto":
        if quarto:
            return ENGINE_QUARTO, f"Quarto trouvé : {quarto}"
        return ENGINE_PANDOC, "Quarto absent du PATH"
    if engine == ENGINE_QUARTO:
        if not quarto:
            raise RenderError(
                "Moteur « quarto » demandé mais Quarto est absent du PATH. "
                "Installez Quarto, ou utilisez engine='auto' ou 'pandoc+typst'."
            )
        return ENGINE_QUARTO, "demandé explicitement"
    if engine in (ENGINE_PANDOC, "pandoc"):
        return ENGINE_PANDOC, "demandé explicitement"
    raise RenderError(
        f"Moteur de rendu inconnu : « {engine} ». Valeurs possibles : 'auto', 'quarto', "
        "'pandoc+typst'."
    )


def _engine_label(engine: str) -> str:
    return "Quarto" if engine == ENGINE_QUARTO else "pandoc + Typst"


def _check_formats(formats: tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(formats, str):  # formats="pdf" is an easy slip for formats=("pdf",)
        formats = (formats,)
    wanted = tuple(dict.fromkeys(formats))
    unknown = [fmt for fmt in wanted if fmt not in FORMATS]
    if unknown or not wanted:
        raise RenderError(
            f"Format(s) de sortie non pris en charge : {', '.join(unknown) or '(aucun)'}. "
            f"Formats possibles : {', '.join(FORMATS)}."
        )
    return wanted


@contextlib.contextmanager
def _staging_dir(out_dir: Path) -> Iterator[Path]:
    """A hidden temporary folder inside ``out_dir`` (same file system, so renames are atomic)."""
    staging = temp_dir(out_dir, "rendu")
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# Front matter ------------------------------------------------------------------------------------


def _read_front_matter(source: Path) -> _FrontMatter:
    """Validate the front-matter values that drive layout and reproducibility."""
    text = source.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise RenderError(
            f"{source.name} : en-tête YAML absent. Le rapport doit commencer par un bloc "
            "« --- » contenant au moins title et date."
        )
    try:
        meta = yamltext.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(
            f"{source.name} : en-tête YAML illisible ({exc}). Corrigez la syntaxe YAML."
        ) from exc
    if not isinstance(meta, dict):
        raise RenderError(f"{source.name} : l'en-tête YAML doit être un dictionnaire clé: valeur.")
    obs = meta.get("observatoire") or {}
    if not isinstance(obs, dict):
        raise RenderError(f"{source.name} : la clé « observatoire » doit contenir des sous-clés.")

    logo = None
    if obs.get("logo"):
        logo = (source.parent / str(obs["logo"])).resolve()
        if not logo.is_file():
            raise RenderError(
                f"{source.name} : logo introuvable « {obs['logo']} » (cherché dans {logo}). "
                "Corrigez observatoire.logo (chemin relatif au dossier du rapport) ou retirez-le."
            )
    return _FrontMatter(
        date=_parse_date(meta.get("date"), source),
        colour_primary=_parse_colour(obs, "colour_primary", DEFAULT_PRIMARY, source),
        colour_secondary=_parse_colour(obs, "colour_secondary", DEFAULT_SECONDARY, source),
        logo=logo,
        toc=bool(meta.get("toc", False)),
        toc_depth=_parse_toc_depth(meta.get("toc-depth", 3), source),
        number_sections=bool(meta.get("number-sections", False)),
        has_title=bool(meta.get("title")),
    )


def _parse_date(value: Any, source: Path) -> dt.date:
    """The report date is mandatory: it fixes the PDF metadata date, never the clock."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value.strip())
    raise RenderError(
        f"{source.name} : date absente ou invalide ({value!r}). Indiquez une date ISO fixe, "
        'par exemple « date: "2025-06-30" » (pas de « today » : le rendu doit être '
        "reproductible)."
    )


def _parse_toc_depth(value: Any, source: Path) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 6:
        return value
    raise RenderError(f"{source.name} : toc-depth invalide ({value!r}) : entier de 1 à 6 attendu.")


def _parse_colour(obs: dict[str, Any], key: str, default: str, source: Path) -> str:
    if key not in obs:
        return default
    value = obs[key]
    if not isinstance(value, str) or not _HEX_COLOUR.match(value.strip()):
        raise RenderError(
            f"{source.name} : couleur observatoire.{key} invalide ({value!r}). "
            'Utilisez un code hexadécimal entre guillemets, par exemple "#1f4e79" '
            "(sans guillemets, YAML lit « # » comme un commentaire)."
        )
    return value.strip().lower()


def french_date(date: dt.date, markup: str = "text") -> str:
    """« 1er juin 2025 », « 30 juin 2025 »: the date as printed in the reports.

    ``markup`` (``"text"``, ``"html"`` or ``"typst"``) sets the "er" of the first day of a
    month in superscript, as French typography wants.
    """
    day = str(date.day)
    if date.day == 1:
        day += {"html": "<sup>er</sup>", "typst": "#super[er]"}.get(markup, "er")
    return f"{day} {MOIS_NOMS[date.month - 1]} {date.year}"


def _timestamp(date: dt.date) -> int:
    """Midnight UTC of the report date, as UNIX seconds (Typst's SOURCE_DATE_EPOCH)."""
    return calendar.timegm(date.timetuple())


# Quarto engine -----------------------------------------------------------------------------------


def _render_with_quarto(
    source: Path,
    staging: Path,
    formats: tuple[str, ...],
    front: _FrontMatter,
    keep_intermediate: bool,
) -> dict[str, Path]:
    """Run ``quarto render SRC --to html|typst`` in the source folder, then stage the outputs.

    Quarto writes ``<stem>.html`` / ``<stem>.pdf`` next to the source; they are moved to the
    staging folder at once, and any file they replaced is put back, so the source folder ends
    as it was. ``SOURCE_DATE_EPOCH`` pins the date Typst writes into the PDF.
    """
    quarto = shutil.which("quarto")
    if quarto is None:
        raise RenderError("Quarto a disparu du PATH pendant le rendu : relancez.")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(_timestamp(front.date))}
    staged: dict[str, Path] = {}
    for fmt in formats:
        command = [quarto, "render", source.name, "--to", "html" if fmt == "html" else "typst"]
        produced = [source.parent / f"{source.stem}.{fmt}"]
        if fmt == "html":
            command += ["-M", "embed-resources:true"]
        elif keep_intermediate:
            command += ["-M", "keep-typ:true"]
            produced.append(source.parent / f"{source.stem}.typ")
        with _set_aside(produced, staging):
            _run(command, cwd=source.parent, env=env, what=f"Quarto ({fmt})", source=source)
            if not produced[0].is_file():
                raise RenderError(
                    f"{source.name} : Quarto n'a pas produit {produced[0].name}. Vérifiez "
                    "qu'aucun _quarto.yml ne redirige les sorties (output-dir), puis relancez."
                )
            for path, key in zip(produced, (fmt, "typ"), strict=False):
                if path.is_file():
                    staged[key] = staging / path.name
                    shutil.move(path, staged[key])
    return staged


@contextlib.contextmanager
def _set_aside(paths: list[Path], staging: Path) -> Iterator[None]:
    """Move existing files out of Quarto's way, and put them back afterwards, whatever happens."""
    aside: dict[Path, Path] = {}
    for path in paths:
        if path.exists():
            aside[path] = staging / f"avant-quarto-{path.name}"
            shutil.move(path, aside[path])
    try:
        yield
    finally:
        for path in paths:
            path.unlink(missing_ok=True)  # only a failed run leaves anything here
            if path in aside:
                shutil.move(aside[path], path)


# pandoc + Typst engine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _PandocJob:
    """Everything the HTML and PDF writers share for one source."""

    pandoc: str
    source: Path
    staging: Path
    front: _FrontMatter
    ast: dict[str, Any]
    images: dict[str, Path]
    assets: dict[str, Path]

    def common_options(self) -> list[str]:
        """Options for both writers: same filter, same numbering, same colours."""
        front = self.front
        options = [
            "--from=json",
            "--standalone",
            "--wrap=none",
            f"--data-dir={self.staging / 'pandoc-data'}",  # no user data dir: same output anywhere
            f"--lua-filter={self.assets['quarto-compat.lua']}",
            f"--toc-depth={front.toc_depth}",
            f"--variable=obs-colour-primary:{front.colour_primary}",
            f"--variable=obs-colour-secondary:{front.colour_secondary}",
            f"--variable=obs-date-iso:{front.date.isoformat()}",
        ]
        if front.toc:
            options.append("--toc")
        if front.number_sections:
            options.append("--number-sections")
        return options

    def write(self, options: list[str], ast_json: str, what: str) -> None:
        """Run one pandoc writer on the AST (as JSON, image targets rewritten for that writer)."""
        self.staging.joinpath("pandoc-data").mkdir(exist_ok=True)
        _run(
            [self.pandoc, *self.common_options(), *options],
            input=ast_json,
            what=what,
            source=self.source,
            cwd=self.source.parent,
        )


def _render_with_pandoc(
    source: Path,
    staging: Path,
    formats: tuple[str, ...],
    front: _FrontMatter,
    keep_intermediate: bool,
) -> dict[str, Path]:
    """Parse once to pandoc's AST, check the images, then write each format into ``staging``."""
    pandoc = pandoc_path()
    ast = json.loads(
        _run(
            [pandoc, "--from=markdown", "--to=json", str(source)],
            cwd=source.parent,
            what="pandoc (lecture)",
            source=source,
        )
    )
    images = _check_images(ast, source)
    ast["meta"].setdefault("lang", {"t": "MetaString", "c": "fr"})
    if not front.has_title:
        ast["meta"]["pagetitle"] = {"t": "MetaString", "c": source.stem}

    staged: dict[str, Path] = {}
    with _asset_paths() as assets, ThreadPoolExecutor(max_workers=1) as pool:
        job = _PandocJob(pandoc, source, staging, front, ast, images, assets)
        # The HTML writer is a pandoc process of its own, independent of the PDF's pandoc +
        # Typst: it runs meanwhile (a thread only waits for it), so the two formats take the
        # time of the longer one. Its JSON is written here, before the PDF's, from one AST.
        html = pool.submit(_write_html, job, _html_input(job)) if "html" in formats else None
        pdf_error: RenderError | None = None
        if "pdf" in formats:
            try:
                staged["pdf"], typ = _write_pdf(job, _pdf_input(job), keep_intermediate)
                if keep_intermediate:
                    staged["typ"] = typ
            except RenderError as exc:
                pdf_error = exc
        if html is not None:
            staged["html"] = html.result()  # an HTML failure is reported first, as before
        if pdf_error is not None:
            raise pdf_error
    return staged


def _html_input(job: _PandocJob) -> str:
    """The AST for the HTML writer: images by absolute path (pandoc embeds them)."""
    return _ast_json(job.ast, {src: path.as_posix() for src, path in job.images.items()})


def _pdf_root(job: _PandocJob) -> Path:
    """Typst only reads files under its root: the source folder, widened if an image lives
    above it."""
    logo = [job.front.logo] if job.front.logo is not None else []
    return Path(os.path.commonpath([job.source.parent, *job.images.values(), *logo]))


def _pdf_input(job: _PandocJob) -> str:
    """The AST for the Typst writer: images by path from Typst's root."""
    root = _pdf_root(job)
    return _ast_json(job.ast, {src: _root_relative(path, root) for src, path in job.images.items()})


def _write_html(job: _PandocJob, ast_json: str) -> Path:
    """One self-contained HTML file: images, logo and CSS embedded as data."""
    out = job.staging / f"{job.source.stem}.html"
    options = [
        "--to=html5",
        "--embed-resources",
        f"--template={job.assets['template.html']}",
        f"--css={job.assets['report.css']}",
        f"--variable=obs-date-text:{french_date(job.front.date, markup='html')}",
        f"--output={out}",
    ]
    if job.front.logo is not None:
        options.append(f"--variable=obs-logo:{html.escape(job.front.logo.as_posix())}")
    job.write(options, ast_json, what="pandoc (HTML)")
    return out


def _write_pdf(job: _PandocJob, ast_json: str, keep_intermediate: bool) -> tuple[Path, Path]:
    """pandoc writes Typst markup, then Typst compiles it; returns (pdf, intermediate .typ).

    If compilation fails and ``keep_intermediate`` is set, the ``.typ`` is kept in the output
    folder for inspection (it is a debugging aid, not a report).
    """
    front = job.front
    root = _pdf_root(job)
    typ = job.staging / f"{job.source.stem}.typ"
    options = [
        "--to=typst",
        f"--template={job.assets['template.typ']}",
        f"--variable=obs-date-text:{french_date(front.date, markup='typst')}",
        f"--variable=obs-year:{front.date.year}",
        f"--variable=obs-month:{front.date.month}",
        f"--variable=obs-day:{front.date.day}",
        f"--output={typ}",
    ]
    if front.logo is not None:
        options.append(f"--variable=obs-logo:{_typst_string(_root_relative(front.logo, root))}")
    job.write(options, ast_json, what="pandoc (Typst)")
    pdf = job.staging / f"{job.source.stem}.pdf"
    try:
        _compile_typst(typ, pdf, root=root, date=front.date, source=job.source)
    except RenderError as exc:
        if not keep_intermediate:
            raise
        kept = job.staging.parent / typ.name
        os.replace(typ, kept)
        raise RenderError(f"{exc}\n  Fichier Typst intermédiaire conservé : {kept}") from exc
    return pdf, typ


def pandoc_path() -> str:
    """pandoc shipped by pypandoc-binary, so that every machine runs the same version."""
    try:
        import pypandoc

        return str(pypandoc.get_pandoc_path())
    except (ImportError, OSError) as exc:
        found = shutil.which("pandoc")
        if found:
            return found
        raise RenderError(
            "pandoc introuvable : installez l'environnement du projet (make setup), qui fournit "
            "pypandoc-binary."
        ) from exc


@contextlib.contextmanager
def _asset_paths() -> Iterator[dict[str, Path]]:
    """Real file paths of the packaged render assets (pandoc needs paths, not streams)."""
    names = ("quarto-compat.lua", "template.html", "template.typ", "report.css")
    base = resources.files("observatoire").joinpath(_ASSETS)
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(resources.as_file(base.joinpath(name))) for name in names}


def _check_images(ast: dict[str, Any], source: Path) -> dict[str, Path]:
    """Map each image reference to its file, failing with every missing image named."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for src in (target[0] for target in _image_targets(ast["blocks"])):
        if src.startswith("data:") or src in found:
            continue
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", src):
            raise RenderError(
                f"{source.name} : image distante « {src} » non prise en charge (le rendu doit "
                "fonctionner hors ligne et rester reproductible). Téléchargez-la dans le dossier "
                "du rapport et utilisez un chemin relatif."
            )
        path = (source.parent / src).resolve()
        if not path.is_file():  # pandoc keeps URL escapes such as %20 in image targets
            path = (source.parent / urllib.parse.unquote(src)).resolve()
        if path.is_file():
            found[src] = path
        else:
            missing.append(f"« {src} » (cherchée dans {path})")
    if missing:
        raise RenderError(
            f"{source.name} : image(s) introuvable(s) : {', '.join(missing)}. "
            "Relancez l'étape qui génère les figures, ou corrigez le chemin (relatif au dossier "
            "du rapport)."
        )
    return found


def _ast_json(ast: dict[str, Any], mapping: dict[str, str]) -> str:
    """``ast`` as JSON, its image targets rewritten for one output format.

    The targets are swapped in place for the dump and put back, rather than rewritten in a deep
    copy of the AST (a copy of a long report's AST cost more than the dump itself).
    """
    targets = list(_image_targets(ast["blocks"]))
    originals = [target[0] for target in targets]
    try:
        for target in targets:
            target[0] = mapping.get(target[0], target[0])
        return json.dumps(ast)
    finally:
        for target, original in zip(targets, originals, strict=True):
            target[0] = original


def _image_targets(node: Any) -> Iterator[list[Any]]:
    """The ``[url, title]`` target of every image of the AST, as the mutable lists they are."""
    if isinstance(node, dict):
        if node.get("t") == "Image":
            yield node["c"][2]
        yield from _image_targets(node.get("c"))
    elif isinstance(node, list):
        for child in node:
            yield from _image_targets(child)


def _root_relative(path: Path, root: Path) -> str:
    """Typst resolves absolute paths against the project root: ``/figures/x.png``."""
    return "/" + path.relative_to(root).as_posix()


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _compile_typst(typ: Path, pdf: Path, *, root: Path, date: dt.date, source: Path) -> None:
    """Compile with embedded fonts only and a fixed timestamp: same input, same PDF bytes."""
    import typst

    try:
        data, warnings = typst.compile_with_warnings(
            typ.read_bytes(),
            root=str(root),
            font_paths=[],
            ignore_system_fonts=True,
            timestamp=_timestamp(date),
        )
    except typst.TypstError as exc:
        detail = (exc.diagnostic or exc.message).strip()
        raise RenderError(
            f"{source.name} : la compilation Typst du PDF a échoué :\n{detail}\n"
            "  À faire : corrigez le passage en cause dans la source (souvent un bloc "
            "{=typst} brut), ou relancez avec keep_intermediate=True pour conserver le "
            "fichier .typ."
        ) from exc
    for warning in warnings:
        print(f"Avertissement Typst ({source.name}) : {warning.message}", file=sys.stderr)
    if not isinstance(data, bytes):
        raise RenderError(f"{source.name} : Typst n'a renvoyé aucun PDF.")
    pdf.write_bytes(data)


def _run(
    command: list[str],
    *,
    what: str,
    source: Path,
    cwd: Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run an external tool; on failure raise a RenderError carrying its message."""
    try:
        proc = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=cwd,
            env=env,
            timeout=_SUBPROCESS_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"{source.name} : impossible d'exécuter {what} ({exc}).") from exc
    if proc.returncode != 0:
        filter_error = _FILTER_ERROR.search(proc.stderr)
        if filter_error:
            raise RenderError(f"{source.name} : {filter_error.group(1).strip()}")
        detail = proc.stderr.strip() or proc.stdout.strip() or f"code de sortie {proc.returncode}"
        raise RenderError(
            f"{source.name} : {what} a échoué :\n{detail}\n"
            "  À faire : corrigez la source du rapport à l'endroit indiqué, puis relancez."
        )
    for line in proc.stderr.splitlines():
        if "warn" in line.lower():  # pass warnings on, not Quarto's progress chatter
            print(f"Avertissement {what} ({source.name}) : {line.strip()}", file=sys.stderr)
    return proc.stdout
