"""What every report shares: its Jinja template, the Relais Social's logo, the code version."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jinja2

from observatoire import __version__

__all__ = [
    "AssetLoader",
    "code_version",
    "model_name",
    "report_template",
    "stage_logo",
]


def code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        return f"{__version__} (commit {commit})"
    except (OSError, subprocess.CalledProcessError):
        return __version__


def stage_logo(logo: Path | None, figures_dir: Path) -> str:
    """Copy the Relais Social's logo (``report.logo``) beside the report's figures and return
    its path relative to the report source; « » when no logo is set (None)."""
    if logo is None:
        return ""
    path = Path(logo)
    if not path.is_file():
        raise FileNotFoundError(
            f"Logo introuvable : {logo} (clé report.logo de params/pipeline.yaml). "
            "À faire : indiquez le chemin d'un fichier SVG ou PNG du dépôt, ou laissez la clé vide."
        )
    if path.suffix.lower() not in {".svg", ".png", ".jpg", ".jpeg"}:
        raise ValueError(
            f"Logo {logo} : format {path.suffix or 'inconnu'} non pris en charge. "
            "À faire : fournissez un fichier SVG, PNG ou JPEG."
        )
    figures_dir.mkdir(parents=True, exist_ok=True)
    target = figures_dir / f"logo{path.suffix.lower()}"
    shutil.copyfile(path, target)
    return f"{figures_dir.name}/{target.name}"


class AssetLoader(jinja2.BaseLoader):
    """Templates of the package's ``assets/reports`` (installed or not), so that a template can
    ``{% include %}`` another by its path there (``observatoire/network.qmd.j2``)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        path = resources.files("observatoire").joinpath("assets", "reports", *template.split("/"))
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), None, lambda: True


def report_template(name: str) -> jinja2.Template:
    """A report template of ``assets/reports``; ``{## ##}`` comments leave Quarto's ``{#…}``
    attributes alone, and an undefined name is an error rather than an empty string. Its
    ``{% include %}`` paths are relative to ``assets/reports`` too."""
    env = jinja2.Environment(
        loader=AssetLoader(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        comment_start_string="{##",
        comment_end_string="##}",
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["modele"] = model_name
    return env.get_template(name)


_MODEL_NAMES = {
    "poisson": "modèle de Poisson",
    "quasi-poisson": "modèle quasi-Poisson",
    "binomiale négative": "modèle binomial négatif",
    "bin. négative": "modèle binomial négatif",
    "binomiale": "modèle binomial",
    "quasi-binomiale": "modèle quasi-binomial",
}


def model_name(family: str) -> str:
    """« modèle de Poisson », « modèle binomial négatif »…: the models layer names a count
    *family* (« binomiale négative », the law), and « modèle binomiale négative » is a French
    agreement error; an unknown family is printed as « modèle <family> »."""
    return _MODEL_NAMES.get(str(family).strip().lower(), f"modèle {family}")
