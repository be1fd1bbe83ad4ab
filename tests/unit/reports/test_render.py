"""Rendering of Quarto-format reports without Quarto (pandoc + Typst), and the Quarto hand-off.

One small report exercising every Quarto feature the observatory uses is rendered once per
module (about half a second); the tests then check the HTML, the PDF, reproducibility and the
error paths.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import pytest

from observatoire.reports.proofread import pdf_text

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from observatoire.reports.render import (  # noqa: E402
    ENGINE_PANDOC,
    ENGINE_QUARTO,
    RenderError,
    RenderResult,
    french_date,
    render_document,
    render_documents,
)

FIXTURE = textwrap.dedent(
    """\
    ---
    title: "Rapport annuel 2024"
    subtitle: "Observatoire de la précarité"
    author: "Relais Social de Testville"
    date: "2025-06-30"
    lang: fr
    toc: true
    toc-title: "Table des matières"
    number-sections: true
    observatoire:
      colour_primary: "#1f4e79"
      colour_secondary: "#e07a1f"
      organisation: "Relais Social de Testville"
      footer: "Rapport annuel 2024"
    ---

    # Introduction {#sec-intro}

    La @fig-evol et la @fig-disp résument l'année ; le @tbl-frequentation
    détaille les chiffres et la @sec-resultats les commente. @fig-disp montre la
    répartition (cf. @tbl-frequentation).

    ::: {.key-figures}
    - **1 234** personnes distinctes
    - **56 789** nuitées
    :::

    ::: {.callout-note}
    ## À retenir
    Le nombre de personnes accueillies augmente.
    :::

    {{< pagebreak >}}

    # Résultats {#sec-resultats}

    ![Évolution annuelle](figures/evol.png){#fig-evol fig-alt="Histogramme en hausse" width="80%"}

    ![Répartition par dispositif](figures/disp.png){#fig-disp fig-alt="Barres par dispositif"}

    | Année | Personnes | Nuitées |
    |:------|----------:|--------:|
    | 2023  | 1 100     | 50 000  |
    | 2024  | 1 234     | 56 789  |

    : Fréquentation par année {#tbl-frequentation}

    | Dispositif | Part |
    |---|---|
    | Abri de nuit | 12,5\u202f% |
    | Maison d'accueil | \u22123,2\u202f% |

    ::: {.callout-important}
    Les chiffres 2024 sont provisoires.
    :::
    """
)

REPORT_DATE = dt.date(2025, 6, 30)


def _write_png(path: Path, colour: str) -> None:
    """A tiny, byte-stable chart (no timestamp in the PNG metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.bar(["2021", "2022", "2023", "2024"], [3, 4, 4, 5], color=colour)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _make_report(folder: Path, text: str = FIXTURE) -> Path:
    _write_png(folder / "figures" / "evol.png", "#1f4e79")
    _write_png(folder / "figures" / "disp.png", "#e07a1f")
    source = folder / "rapport.qmd"
    source.write_text(text, encoding="utf-8")
    return source


def _no_quarto(real_which: Callable[..., str | None]) -> Callable[..., str | None]:
    def which(name: str, *args: object, **kwargs: object) -> str | None:
        return None if name == "quarto" else real_which(name, *args, **kwargs)

    return which


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _pdf_text(pdf: Path) -> str:
    return re.sub(r"\s+", " ", pdf_text(pdf).replace("\u00a0", " "))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RenderResult, Path]]:
    """The fixture report rendered once, Quarto hidden, keeping the Typst intermediate."""
    folder = tmp_path_factory.mktemp("rapport")
    source = _make_report(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shutil, "which", _no_quarto(shutil.which))
        result = render_document(source, folder / "out", keep_intermediate=True)
    yield result, source


# Engine and outputs ------------------------------------------------------------------------------


def test_pandoc_engine_when_quarto_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _make_report(tmp_path)
    monkeypatch.setattr(shutil, "which", _no_quarto(shutil.which))
    result = render_document(source, tmp_path / "out", formats=("html",))
    assert result.engine == ENGINE_PANDOC == "pandoc+typst"
    assert "Rendu : moteur pandoc + Typst (Quarto absent du PATH)" in capsys.readouterr().out
    assert set(result.outputs) == {"html"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rapport.html"]


def test_outputs_named_after_source(rendered: tuple[RenderResult, Path]) -> None:
    result, source = rendered
    out_dir = source.parent / "out"
    assert result.engine == ENGINE_PANDOC
    assert result.outputs == {"html": out_dir / "rapport.html", "pdf": out_dir / "rapport.pdf"}
    # Only the outputs and the requested intermediate: no staging folder left behind.
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "rapport.html",
        "rapport.pdf",
        "rapport.typ",
    ]


# HTML ------------------------------------------------------------------------------------------


def test_html_is_french_self_contained_and_numbered(rendered: tuple[RenderResult, Path]) -> None:
    html = rendered[0].outputs["html"].read_text(encoding="utf-8")
    assert '<html lang="fr"' in html
    assert "Figure 1" in html and "Figure 2" in html and "Tableau 1" in html
    assert "Figure 1\u00a0:" in html  # French colon, no-break space before it
    assert 'alt="Histogramme en hausse"' in html
    assert 'alt="Barres par dispositif"' in html
    assert "data:image/png;base64," in html and 'src="figures/' not in html
    assert "Table des matières" in html
    assert "30 juin 2025" in html
    assert "--obs-primary: #1f4e79" in html


def test_html_cross_references_resolved(rendered: tuple[RenderResult, Path]) -> None:
    html = rendered[0].outputs["html"].read_text(encoding="utf-8")
    assert '<a href="#fig-evol">figure 1</a>' in html
    assert '<a href="#fig-disp">figure 2</a>' in html
    assert '<a href="#tbl-frequentation">tableau 1</a>' in html
    assert '<a href="#sec-resultats">section 2</a>' in html
    assert "@fig-" not in html and "@tbl-" not in html and "@sec-" not in html
    # Capitalised at the start of a sentence only, as Quarto's "Figure 1" would read.
    assert 'commente. <a href="#fig-disp">Figure 2</a> montre' in html
    assert '(cf. <a href="#tbl-frequentation">tableau 1</a>)' in html


def test_html_callouts_key_figures_and_pagebreak(rendered: tuple[RenderResult, Path]) -> None:
    html = rendered[0].outputs["html"].read_text(encoding="utf-8")
    assert 'class="callout callout-note"' in html
    assert re.search(r'class="callout-title">\s*À retenir', html)
    assert re.search(r'class="callout-title">\s*Important', html)
    assert html.count('class="key-figure"') == 2
    assert '<span class="kf-value">1 234</span>' in html
    assert "pagebreak" not in html and "{{" not in html
    # Numbers right-aligned, also when the source leaves the alignment to us; text left-aligned.
    assert '<td style="text-align: right;">56 789</td>' in html
    assert '<td style="text-align: right;">\u22123,2\u202f%</td>' in html
    assert '<td style="text-align: left;">Abri de nuit</td>' in html


# PDF -------------------------------------------------------------------------------------------


def test_pdf_structure(rendered: tuple[RenderResult, Path]) -> None:
    pdf = rendered[0].outputs["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF")
    # Title page, table of contents, introduction, results (after the page break).
    assert _pdf_pages(pdf) >= 4


def test_pdf_typst_source(rendered: tuple[RenderResult, Path]) -> None:
    typ = rendered[0].outputs["pdf"].with_suffix(".typ").read_text(encoding="utf-8")
    assert '#set text(lang: "fr"' in typ
    assert "date: datetime(year: 2025, month: 6, day: 30)" in typ
    assert "#outline(" in typ and "Table des matières" in typ
    assert "#pagebreak(weak: true)" in typ
    assert "#ref(<fig-disp>, supplement: [figure]);" in typ
    assert 'alt: "Histogramme en hausse"' in typ
    assert '#callout(kind: "note", title: [À retenir])' in typ
    assert "#key-figures(([1 234], [personnes distinctes])" in typ
    assert "@fig-" not in typ.replace("<fig-", "")


def test_pdf_text(rendered: tuple[RenderResult, Path]) -> None:
    text = _pdf_text(rendered[0].outputs["pdf"])
    assert "Table des matières" in text
    assert "Figure 1 : Évolution annuelle" in text
    assert "Figure 2 : Répartition par dispositif" in text
    assert "Tableau 1 : Fréquentation par année" in text
    assert "La figure 1 et la figure 2" in text
    assert "le tableau 1" in text and "la section 2" in text
    assert "commente. Figure 2 montre la répartition (cf. tableau 1)" in text
    assert re.search(r"page 2 / \d", text)
    assert "À retenir" in text


def test_pdf_metadata_date_comes_from_front_matter(rendered: tuple[RenderResult, Path]) -> None:
    pdf = rendered[0].outputs["pdf"].read_bytes()
    assert b"D:20250630000000" in pdf
    assert french_date(REPORT_DATE) == "30 juin 2025"
    assert french_date(dt.date(2025, 6, 1)) == "1er juin 2025"


# Reproducibility -----------------------------------------------------------------------------


def test_two_renders_are_byte_identical(
    rendered: tuple[RenderResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, source = rendered
    monkeypatch.setattr(shutil, "which", _no_quarto(shutil.which))
    # Another output folder and a copy of the sources elsewhere: same bytes.
    again = render_document(source, tmp_path / "again")
    copy = _make_report(tmp_path / "ailleurs" / "profond")
    elsewhere = render_document(copy, tmp_path / "ailleurs" / "out")
    for fmt in ("html", "pdf"):
        reference = first.outputs[fmt].read_bytes()
        assert again.outputs[fmt].read_bytes() == reference, fmt
        assert elsewhere.outputs[fmt].read_bytes() == reference, fmt


@pytest.mark.usefixtures("pandoc_only")
def test_render_documents_same_bytes_as_one_at_a_time(
    rendered: tuple[RenderResult, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = rendered
    sources = [_make_report(tmp_path / name) for name in ("a", "b", "c")]
    results = render_documents([(source, source.parent / "out") for source in sources])
    assert capsys.readouterr().out.count("Rendu : moteur pandoc + Typst") == 3
    for source, result in zip(sources, results, strict=True):
        assert result.engine == ENGINE_PANDOC
        assert result.outputs == {
            "html": source.parent / "out" / "rapport.html",
            "pdf": source.parent / "out" / "rapport.pdf",
        }
        for fmt in ("html", "pdf"):
            assert result.outputs[fmt].read_bytes() == first.outputs[fmt].read_bytes(), fmt


@pytest.mark.usefixtures("pandoc_only")
def test_render_documents_raises_the_first_failure_in_order(tmp_path: Path) -> None:
    good = _make_report(tmp_path / "bon")
    bad = [
        _make_report(tmp_path / name, FIXTURE.replace("@fig-disp", f"@fig-{name}"))
        for name in ("mauvais1", "mauvais2")
    ]
    documents = [(good, tmp_path / "out"), (bad[0], tmp_path / "out"), (bad[1], tmp_path / "out")]
    with pytest.raises(RenderError, match="mauvais1"):
        render_documents(documents)
    # Each document is staged on its own: nothing half-written, no staging folder left.
    assert {p.name for p in (tmp_path / "out").iterdir()} <= {"rapport.html", "rapport.pdf"}


# Errors ----------------------------------------------------------------------------------------


@pytest.fixture
def pandoc_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", _no_quarto(shutil.which))


@pytest.mark.usefixtures("pandoc_only")
def test_missing_image_raises_french_error_and_leaves_nothing(tmp_path: Path) -> None:
    source = _make_report(tmp_path)
    (tmp_path / "figures" / "disp.png").unlink()
    out_dir = tmp_path / "out"
    with pytest.raises(RenderError) as excinfo:
        render_document(source, out_dir)
    message = str(excinfo.value)
    assert "rapport.qmd" in message
    assert "introuvable" in message and "figures/disp.png" in message
    assert "Relancez" in message
    assert list(out_dir.iterdir()) == []


@pytest.mark.usefixtures("pandoc_only")
def test_failed_render_keeps_previous_outputs_intact(tmp_path: Path) -> None:
    source = _make_report(tmp_path)
    out_dir = tmp_path / "out"
    good = render_document(source, out_dir)
    before = {fmt: path.read_bytes() for fmt, path in good.outputs.items()}
    source.write_text(FIXTURE.replace("@fig-disp", "@fig-inconnue"), encoding="utf-8")
    with pytest.raises(RenderError, match=r"référence croisée introuvable : @fig-inconnue"):
        render_document(source, out_dir)
    assert sorted(p.name for p in out_dir.iterdir()) == ["rapport.html", "rapport.pdf"]
    assert {fmt: path.read_bytes() for fmt, path in good.outputs.items()} == before


@pytest.mark.usefixtures("pandoc_only")
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('date: "2025-06-30"', "date: today", "date absente ou invalide"),
        (
            'colour_primary: "#1f4e79"',
            "colour_primary: bleu",
            "couleur observatoire.colour_primary",
        ),
        ("{{< pagebreak >}}", "{{< meta title >}}", "shortcode Quarto non pris en charge"),
        ("  footer:", "  logo: images/absent.png\n  footer:", "logo introuvable"),
        ("](figures/evol.png)", "](https://example.org/evol.png)", "distante"),
    ],
)
def test_invalid_sources_raise_render_error(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in FIXTURE
    source = _make_report(tmp_path, FIXTURE.replace(old, new))
    with pytest.raises(RenderError, match=expected):
        render_document(source, tmp_path / "out")
    assert list((tmp_path / "out").glob("*")) == []


def test_unknown_engine_and_format(tmp_path: Path) -> None:
    source = _make_report(tmp_path)
    with pytest.raises(RenderError, match="Moteur de rendu inconnu"):
        render_document(source, tmp_path / "out", engine="latex")
    with pytest.raises(RenderError, match="Format"):
        render_document(source, tmp_path / "out", formats=("docx",))
    with pytest.raises(RenderError, match="introuvable"):
        render_document(tmp_path / "absent.qmd", tmp_path / "out")


# Quarto hand-off -------------------------------------------------------------------------------

FAKE_QUARTO = """\
#!{python}
import os, pathlib, sys
args = sys.argv[1:]
log = pathlib.Path(os.environ["FAKE_QUARTO_LOG"])
with log.open("a", encoding="utf-8") as fh:
    fh.write(" ".join(args) + " | SOURCE_DATE_EPOCH=" + os.environ["SOURCE_DATE_EPOCH"] + "\\n")
source = pathlib.Path(args[1])
ext = "html" if args[args.index("--to") + 1] == "html" else "pdf"
body = b"%PDF-1.7 quarto" if ext == "pdf" else b"<html>quarto</html>"
pathlib.Path(source.stem + "." + ext).write_bytes(body)
if "keep-typ:true" in args:
    pathlib.Path(source.stem + ".typ").write_text("// typst", encoding="utf-8")
if os.environ.get("FAKE_QUARTO_FAIL") == ext:
    sys.exit("ERROR: compilation failed")
"""


@pytest.fixture
def fake_quarto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``quarto`` on the PATH that logs its arguments; returns the log file."""
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text(FAKE_QUARTO.format(python=sys.executable), encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "quarto.log"
    monkeypatch.setenv("FAKE_QUARTO_LOG", str(log))
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: str(fake) if name == "quarto" else real_which(name)
    )
    return log


def test_quarto_used_when_on_path(
    tmp_path: Path, fake_quarto: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _make_report(tmp_path / "src")
    previous = source.parent / "rapport.html"
    previous.write_text("ancienne version", encoding="utf-8")
    result = render_document(source, tmp_path / "out", keep_intermediate=True)

    assert result.engine == ENGINE_QUARTO
    assert "Rendu : moteur Quarto" in capsys.readouterr().out
    assert result.outputs["html"].read_bytes() == b"<html>quarto</html>"
    assert result.outputs["pdf"].read_bytes() == b"%PDF-1.7 quarto"
    assert (tmp_path / "out" / "rapport.typ").is_file()
    epoch = calendar.timegm(REPORT_DATE.timetuple())
    assert fake_quarto.read_text(encoding="utf-8").splitlines() == [
        f"render rapport.qmd --to html -M embed-resources:true | SOURCE_DATE_EPOCH={epoch}",
        f"render rapport.qmd --to typst -M keep-typ:true | SOURCE_DATE_EPOCH={epoch}",
    ]
    # The source folder is left as it was, including a file Quarto overwrote.
    assert sorted(p.name for p in source.parent.iterdir()) == [
        "figures",
        "rapport.html",
        "rapport.qmd",
    ]
    assert previous.read_text(encoding="utf-8") == "ancienne version"


def test_quarto_failure_leaves_nothing(
    tmp_path: Path, fake_quarto: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_QUARTO_FAIL", "pdf")
    source = _make_report(tmp_path / "src")
    with pytest.raises(RenderError, match="Quarto \\(pdf\\) a échoué"):
        render_document(source, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in source.parent.iterdir()) == ["figures", "rapport.qmd"]


def test_quarto_requested_but_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", _no_quarto(shutil.which))
    source = _make_report(tmp_path)
    with pytest.raises(RenderError, match="Quarto est absent du PATH"):
        render_document(source, tmp_path / "out", engine="quarto")
