"""The slide deck is byte-identical from one render to the next (dates pinned, not 'now')."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from observatoire.reports.slides import Slide, slides_markdown, write_deck


def _render(folder, monkeypatch, epoch: str) -> bytes:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)  # whatever the caller's environment says
    markdown = slides_markdown(
        "Chiffres clés 2024", "Données 2024", "Relais", "30 juin 2025", [Slide("Un", ["a", "b"])]
    )
    folder.mkdir()
    target = write_deck(
        markdown,
        folder,
        folder / "chiffres-cles.pptx",
        primary="#1f4e79",
        secondary="#e07a1f",
        date=dt.date(2025, 6, 30),
    )
    return target.read_bytes()


def test_two_renders_of_the_deck_are_byte_identical(tmp_path, monkeypatch):
    first = _render(tmp_path / "a", monkeypatch, "1000000000")
    second = _render(tmp_path / "b", monkeypatch, "1700000000")
    core = zipfile.ZipFile(io.BytesIO(first)).read("docProps/core.xml").decode()
    dates = re.findall(r"<dcterms:(created|modified)[^>]*>([^<]*)<", core)
    assert dates == [("created", "2025-06-30T00:00:00Z"), ("modified", "2025-06-30T00:00:00Z")]
    assert first == second
