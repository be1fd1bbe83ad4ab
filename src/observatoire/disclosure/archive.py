"""What was actually released: a year's ledger archived in git, read back by the next audits.

A reader of next year's report holds *this* year's report as it was printed, not as today's code
would rebuild it: a change of method (the optimal suppression), of data (a late correction) or
of code would otherwise protect next year's cells against a pattern nobody has. ``observatoire
publier <année>`` copies the year's ledger (``cases_publiees.csv``: key, status, published value,
never a hidden one) to ``publications/<année>/``, which is committed; the next year's audit then
takes last year's statuses and printed values from it (:func:`released_previous`). Where no
archive exists (the synthetic sample), last year is rebuilt and the annex says so.

An archive is never rewritten. A revised definition gives its figures new quantity keys; if a
figure printed last year under a key no longer has the value printed, the audit stops and says
which: the reader's identities would not hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import yaml

from observatoire.core.errors import ObservatoireError
from observatoire.disclosure.suppression import LATENT, PUBLISHED, UNPRINTED, Publication

__all__ = [
    "LEDGER",
    "ReleaseError",
    "archive_release",
    "read_release",
    "released_previous",
]

LEDGER = "cases_publiees.csv"
RELEASE_NOTE = "publication.yaml"


class ReleaseError(ObservatoireError):
    """An archive that cannot be written or that contradicts the rebuilt publication."""


def archive_release(year: int, ledger: Path, folder: Path, k: int, code_version: str) -> Path:
    """Copy the year's ledger into ``folder`` (``publications/<year>/``) with a short note; an
    existing archive is never overwritten (what was released does not change)."""
    if not ledger.exists():
        raise ReleaseError(
            f"Registre introuvable : {ledger}. À faire : produisez d'abord le rapport {year} "
            "(dvc repro), vérifiez-le, puis archivez-le."
        )
    if (folder / LEDGER).exists():
        raise ReleaseError(
            f"La publication {year} est déjà archivée ({folder / LEDGER}) : ce qui a été publié "
            "ne change plus. Une définition révisée reçoit de nouvelles clés dans le rapport "
            "suivant ; l'archive reste telle quelle."
        )
    frame = pd.read_csv(ledger)
    missing = {"key", "status", "value"} - set(frame.columns)
    if missing:
        raise ReleaseError(f"{ledger} n'est pas un registre de publication (colonnes {missing}).")
    if frame.loc[frame["status"] != PUBLISHED, "value"].notna().any():
        raise ReleaseError(f"{ledger} porte une valeur masquée : archivage refusé.")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ledger, folder / LEDGER)
    note = {
        "annee": year,
        "seuil_de_secret": k,
        "archivee_le": dt.date.today().isoformat(),
        "version_du_code": code_version,
        "cases": int(len(frame)),
        "cases_masquees": int((frame["status"] != PUBLISHED).sum()),
    }
    (folder / RELEASE_NOTE).write_text(
        yaml.safe_dump(note, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return folder / LEDGER


def read_release(folder: Path) -> pd.DataFrame | None:
    """The archived ledger of a released year, or None when that year was not archived."""
    path = folder / LEDGER
    if not path.exists():
        return None
    return pd.read_csv(path, dtype={"key": str, "status": str})


def released_previous(rebuilt: Publication, released: pd.DataFrame, where: Path) -> Publication:
    """Last year's publication as readers hold it: the archive's statuses on the rebuilt tables.

    Every key the archive printed must still have the printed value (else the reader's
    identities differ from ours: :class:`ReleaseError`). Keys of the archive that today's tables
    no longer have are ignored (a revised definition); keys of today's tables absent from the
    archive keep the rebuilt status.
    """
    status = dict(rebuilt.status)
    wrong = []
    for row in released.itertuples(index=False):
        if row.key not in status or status[row.key] in (LATENT, UNPRINTED):
            continue
        if row.status == PUBLISHED and abs(float(row.value) - rebuilt.values[row.key]) > 1e-9:
            wrong.append(f"{row.key} : publié {row.value:g}, recalculé {rebuilt.values[row.key]:g}")
        status[row.key] = row.status
    if wrong:
        raise ReleaseError(
            f"L'archive {where} ne correspond plus aux données de l'an dernier pour "
            f"{len(wrong)} nombre(s) publié(s) :\n  "
            + "\n  ".join(wrong[:10])
            + "\n  À faire : si une définition a changé, donnez à ces chiffres de nouvelles clés ; "
            "si les données ont été corrigées après publication, le rapport de cette année doit "
            "se protéger contre ce qui a été publié : signalez-le à l'équipe du code."
        )
    return dataclasses.replace(rebuilt, status=status)
