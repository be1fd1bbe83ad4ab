"""Errors that speak to the analyst, in French, and say what to do.

The CLI turns these into a clear message and a non-zero exit code instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "ContractError",
    "ExportRejected",
    "KeyProblem",
    "MappingError",
    "ObservatoireError",
    "PublicationRefused",
    "ValidationFailed",
]


class ObservatoireError(Exception):
    """An error the analyst can act on; its message is French and names what to fix."""

    exit_code = 2


class MappingError(ObservatoireError):
    """A partner mapping file is malformed: ``problem`` names the file and the key, ``action``
    (when given) says what to do."""

    def __init__(self, problem: str, action: str | None = None) -> None:
        self.problem = problem
        self.action = action
        super().__init__(f"{problem}\n  À faire : {action}" if action else problem)


class ExportRejected(ObservatoireError):
    """A partner export cannot be read at all (missing file, unknown format, missing column)."""

    def __init__(self, partner_id: str, file: str, problem: str, action: str) -> None:
        self.partner_id = partner_id
        self.file = file
        self.problem = problem
        self.action = action
        super().__init__(
            f"Export refusé — partenaire « {partner_id} », fichier « {file} » : {problem}\n"
            f"  À faire : {action}"
        )


class ValidationFailed(ObservatoireError):
    """Validation set aside more rows than the threshold in params allows."""


class KeyProblem(ObservatoireError):
    """The pseudonymisation key is missing, too short or unreadable."""


class ContractError(ObservatoireError):
    """A stage's output file does not have the shape its contract declares (a key missing or
    unexpected): the stage that wrote it is older or newer than the code reading it."""


class PublicationRefused(ObservatoireError, ValueError):
    """Tables that cannot be protected or audited as given (a total that is not the sum of its
    parts, a key published twice with two values): nothing is written. Also a ``ValueError``
    because it is raised for inconsistent arguments of the disclosure functions."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"Publication refusée : {problem}\n  Rien n'a été publié. À faire : relancez "
            "`dvc repro` ; si le message revient, transmettez-le à la personne qui maintient "
            "l'observatoire (les tableaux calculés ne sont pas cohérents entre eux)."
        )
