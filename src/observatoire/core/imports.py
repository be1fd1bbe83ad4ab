"""Start-up costs of third-party imports that the project does not need.

``jsonschema``, which ``nbformat`` (so papermill, jupytext and nbconvert: every notebook stage)
and great-expectations (the validate stage) import, registers a checker of the ``iri`` string
format when the optional package ``rfc3987_syntax`` is installed, and importing that package
compiles its RFC 3987 grammar with Lark: about a second of CPU on the reference machine, five
on a loaded one (``python -X importtime``), paid by each of these stages. No schema the project
validates uses that format (the notebook schemas of nbformat have none; the validation suites
check tables, not JSON strings), so the package is marked absent before those imports and
``jsonschema`` simply does without that checker, as it does when the package is not installed.
"""

from __future__ import annotations

import sys

__all__ = ["skip_unused_grammars"]


def skip_unused_grammars() -> None:
    """Mark ``rfc3987_syntax`` absent unless something already imported it (then it stays)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
