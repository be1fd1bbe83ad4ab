"""Finding a partner's files in the raw-data folder: confined to it, links refused, re-sends
ordered the way partners name them.

Every raw file the pipeline reads is found here (an export's ``files:`` pattern, a joined table's),
so one place decides three things:

**Confinement.** A pattern is relative to ``inputs.raw_dir`` and holds no ``..`` (the mapping
schema refuses it; this module refuses it again for a mapping built in code), and every file
found must *resolve* inside the raw folder.

**Symbolic links are refused** (a French :class:`~observatoire.core.errors.ExportRejected`, the
run stops), whether they point inside the folder or out of it. A link is never what a partner
sent: it lets a file outside the project be read, it makes the same bytes appear under two names
(the duplicate rule keeps the first name in order, so a link sorted before the real file made the
real ``housing_first_2021.xlsx`` look like the copy and lose every row), and DVC hashes the link
rather than the file. Resolving links that stay inside the folder would still allow the second
trap, so the rule is simply « déposez une copie du fichier ». The raw folder itself may be a link
(data kept on another disk): only what lies below it is checked.

**Re-send order.** A partner who corrects an export re-sends it; downloaded again from an e-mail,
the new file is named the way browsers name a second download, ``travail_rue_2024 (1).tsv``. In
plain name order « (1) » sorts *before* the original (a space sorts before a dot), so the
original would have been kept. :func:`resend_order` orders « name (n).ext » right after
« name.ext », by ``n`` numerically (``(10)`` after ``(9)``); other names keep their plain order
(``…_2024_v2.csv`` and ``…_2024_corrige.csv`` already sort after ``…_2024.csv``).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from observatoire.core.errors import ExportRejected

__all__ = [
    "BROWSER_COPY",
    "find_raw_files",
    "resend_number",
    "resend_order",
    "unsafe_pattern",
]

BROWSER_COPY = re.compile(r"^(?P<base>.*?) ?\((?P<n>\d{1,4})\)(?P<ext>\.[^.()]*)?$")
"""« name (n).ext » (Chrome, Firefox, Edge) or « name(n).ext »: the n-th download of a file."""


def resend_order(name: str) -> tuple[str, int, str]:
    """Sort key of a file name among re-sends: « name.ext », then « name (1).ext », « name
    (2).ext »… (``n`` compared as a number); the name itself breaks ties."""
    match = BROWSER_COPY.match(name)
    if match is None:
        return (name, 0, name)
    return (match["base"] + (match["ext"] or ""), int(match["n"]), name)


def resend_number(name: str) -> int:
    """The ``n`` of « name (n).ext » (0 for a name without it)."""
    return resend_order(name)[1]


def unsafe_pattern(pattern: str) -> str | None:
    """Why a ``files:`` pattern could reach outside the raw folder (French), or None.

    Refused: an absolute path (``/…``, ``C:\\…``, ``\\\\serveur\\…``), a home folder (``~``),
    any ``..`` component, a backslash (a Windows path that the glob would read as one name)."""
    if not pattern.strip():
        return "motif vide"
    if "\\" in pattern:
        return "barre oblique inverse « \\ » (séparez les dossiers par « / »)"
    if pattern.startswith("~"):
        return "chemin commençant par « ~ » (dossier personnel)"
    if PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).is_absolute():
        return "chemin absolu"
    if PureWindowsPath(pattern).drive:
        return "lecteur Windows"
    if any(part == ".." for part in PurePosixPath(pattern).parts):
        return "« .. » (dossier parent)"
    return None


def _link_below(path: Path, root: Path) -> Path | None:
    """The first symbolic link among ``path`` and its folders up to ``root`` (excluded)."""
    current = path
    while current != root and current != current.parent:
        if current.is_symlink():
            return current
        current = current.parent
    return None


def find_raw_files(raw_dir: Path, pattern: str, partner_id: str, what: str) -> list[Path]:
    """The files of ``raw_dir`` matching ``pattern``, in re-send order (folder depth, folder,
    :func:`resend_order`); refuses a pattern leaving the folder, a symbolic link, and a file
    resolving outside ``raw_dir`` (:class:`ExportRejected`, naming ``what`` the files are for).
    """
    raw_dir = Path(raw_dir)
    why = unsafe_pattern(pattern)
    if why is not None:
        raise ExportRejected(
            partner_id,
            pattern,
            f"motif de fichiers de {what} refusé : {why}.",
            f"écrivez un motif relatif au dossier {raw_dir}/ (par ex. "
            f'"{partner_id}/{partner_id}_*.csv") dans params/partners/{partner_id}.yaml.',
        )
    root = raw_dir.resolve()
    found = []
    for path in raw_dir.glob(pattern):
        rel = path.relative_to(raw_dir).as_posix()
        link = _link_below(path, raw_dir)
        if link is not None:
            target = _target(link)
            raise ExportRejected(
                partner_id,
                rel,
                f"« {link.relative_to(raw_dir).as_posix()} » est un lien symbolique (vers "
                f"{target}), pas un fichier : les liens sont refusés dans {raw_dir}/ (un lien "
                "peut lire un fichier hors du projet, ou faire passer le vrai fichier pour une "
                "copie en double).",
                "remplacez le lien par une copie du fichier envoyé par le partenaire (ou "
                "supprimez-le), puis relancez.",
            )
        if not path.resolve().is_relative_to(root):
            raise ExportRejected(
                partner_id,
                rel,
                f"le fichier se trouve hors du dossier des exports {raw_dir}/.",
                "déposez le fichier du partenaire dans ce dossier, puis relancez.",
            )
        found.append(path)
    return sorted(found, key=lambda p: _order(p, raw_dir))


def _target(link: Path) -> str:
    try:
        target = link.readlink()
    except OSError:
        return "une cible illisible"
    return f"« {target} »"


def _order(path: Path, raw_dir: Path) -> tuple[int, str, tuple[str, int, str]]:
    rel = PurePosixPath(path.relative_to(raw_dir).as_posix())
    return (len(rel.parts), rel.parent.as_posix(), resend_order(rel.name))
