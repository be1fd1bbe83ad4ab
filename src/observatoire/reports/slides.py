"""A slide deck of the key figures (PowerPoint, through pandoc) for the Relais Social's bodies.

The deck is written from the same formatted, disclosure-controlled numbers as the report (the
caller passes them in), as pandoc markdown with one ``##`` heading per slide, and converted by the
pandoc of ``pypandoc-binary``. The theme colours come from the report params: pandoc's default
reference presentation is patched (theme accents and title colour) rather than shipping a binary
template. The PPTX is byte-reproducible: zip entry times and the presentation's creation and
modification dates (``docProps/core.xml``) are pinned to the report's date, derived from the
params (30 June after ``report.year``), never from the clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from observatoire.core.storage import atomic_write_bytes, pin_zip_times

__all__ = ["Slide", "reference_deck", "slides_markdown", "write_deck"]


@dataclass(frozen=True)
class Slide:
    """One slide: a title, bullet points, an optional picture and speaker notes."""

    title: str
    bullets: list[str] = field(default_factory=list)
    image: str | None = None  # path relative to the deck's folder
    image_alt: str = ""
    table: str | None = None  # a pandoc pipe table
    notes: str = ""


def slides_markdown(title: str, subtitle: str, author: str, date: str, slides: list[Slide]) -> str:
    """The deck as pandoc markdown (``--slide-level 2``)."""
    lines = [
        "---",
        f'title: "{_yaml(title)}"',
        f'subtitle: "{_yaml(subtitle)}"',
        f'author: "{_yaml(author)}"',
        f'date: "{_yaml(date)}"',
        "lang: fr-BE",
        "---",
        "",
    ]
    for slide in slides:
        lines += [f"## {slide.title}", ""]
        if slide.image and (slide.bullets or slide.table):
            lines += [":::::: {.columns}", '::: {.column width="45%"}', ""]
        lines += [f"- {b}" for b in slide.bullets]
        if slide.table:
            lines += ["", slide.table]
        if slide.image and (slide.bullets or slide.table):
            lines += ["", ":::", '::: {.column width="55%"}', ""]
        if slide.image:
            lines += ["", f"![{slide.image_alt}]({slide.image})", ""]
        if slide.image and (slide.bullets or slide.table):
            lines += [":::", "::::::"]
        if slide.notes:
            lines += ["", "::: notes", slide.notes, ":::"]
        lines.append("")
    return "\n".join(lines)


def _yaml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def reference_deck(pandoc: str, primary: str, secondary: str) -> bytes:
    """pandoc's default reference presentation with the Relais Social's colours."""
    data = subprocess.run(
        [pandoc, "--print-default-data-file", "reference.pptx"],
        capture_output=True,
        check=True,
    ).stdout
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if re.fullmatch(r"ppt/theme/theme\d+\.xml", item.filename):
                content = _recolour(content, {"dk2": primary, "accent1": primary})
                content = _recolour(content, {"accent2": secondary})
            target.writestr(item, content)
    return out.getvalue()


def _recolour(theme: bytes, colours: dict[str, str]) -> bytes:
    for slot, colour in colours.items():
        hex_colour = colour.lstrip("#").upper().encode()
        theme = re.sub(
            rb"(<a:" + slot.encode() + rb">\s*<a:(?:srgbClr val|sysClr val)=\")[^\"]*(\"[^>]*>)",
            rb"\g<1>" + hex_colour + rb"\g<2>",
            theme,
            count=1,
        )
        theme = re.sub(
            rb"(<a:" + slot.encode() + rb">\s*)<a:sysClr [^>]*/>",
            rb"\g<1><a:srgbClr val=\"" + hex_colour + rb"\"/>",
            theme,
            count=1,
        )
    return theme


def write_deck(
    markdown: str,
    folder: Path,
    target: Path,
    *,
    primary: str,
    secondary: str,
    date: dt.date,
) -> Path:
    """Convert the deck's markdown to ``target`` (PPTX), pictures resolved from ``folder``."""
    from observatoire.reports.render import RenderError, pandoc_path

    pandoc = pandoc_path()
    source = folder / (target.stem + ".md")
    source.write_text(markdown, encoding="utf-8")
    reference = folder / ".reference.pptx"
    reference.write_bytes(reference_deck(pandoc, primary, secondary))
    raw = folder / (target.stem + ".tmp.pptx")
    proc = subprocess.run(
        [
            pandoc,
            source.name,
            "--from",
            "markdown",
            "--to",
            "pptx",
            "--slide-level",
            "2",
            "--reference-doc",
            reference.name,
            "--output",
            raw.name,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        # pandoc dates the presentation from this when set (pin_zip_times pins it anyway)
        env={**os.environ, "SOURCE_DATE_EPOCH": str(calendar.timegm(date.timetuple()))},
    )
    reference.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RenderError(
            f"{source.name} : pandoc n'a pas pu écrire la présentation :\n{proc.stderr.strip()}"
        )
    stamp = dt.datetime(date.year, date.month, date.day)
    atomic_write_bytes(target, pin_zip_times(raw.read_bytes(), stamp))
    raw.unlink()
    return target
