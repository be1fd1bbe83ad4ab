"""French sentences for what a strict pydantic model refused in a YAML file.

Shared by the params file (:mod:`observatoire.config.settings`) and the partner mapping files
(:mod:`observatoire.intake.mapping_schema`): each refused value becomes one sentence naming the
key path (``report.secret_k``, ``exports[0].format.quotechar``), what was found and what is
admitted there (the keys of that block, the values of a closed list), so the analyst can fix the
file without reading the source.

A validator may raise :class:`pydantic_core.PydanticCustomError` with ``ctx={"at": "sub.path"}``
to name a key below the one it validates (e.g. ``columns.nom`` from the export's validator).
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from observatoire.core import yamltext

__all__ = ["allowed_values", "french_problems", "key_path", "params_refusal", "shown"]

_TYPES = {
    "int_type": "un nombre entier",
    "int_from_float": "un nombre entier",
    "int_parsing": "un nombre entier",
    "float_type": "un nombre",
    "float_parsing": "un nombre",
    "string_type": "un texte (entre guillemets s'il ressemble à un nombre)",
    "tuple_type": "une liste",
    "list_type": "une liste (entre crochets [ ], ou une ligne « - » par élément)",
    "dict_type": "un dictionnaire (clé: valeur)",
    "model_type": "un dictionnaire (clé: valeur)",
    "model_attributes_type": "un dictionnaire (clé: valeur)",
    "path_type": "un chemin de fichier (texte)",
    "is_instance_of": "un chemin de fichier (texte)",
    "bool_type": "oui/non (true ou false)",
}
_BOUNDS = {
    "greater_than": "strictement supérieur à {gt}",
    "greater_than_equal": "au moins {ge}",
    "less_than": "strictement inférieur à {lt}",
    "less_than_equal": "au plus {le}",
    "too_short": "au moins {min_length} élément(s)",
    "too_long": "au plus {max_length} élément(s)",
    "string_too_short": "un texte d'au moins {min_length} caractère(s)",
    "string_too_long": "un texte d'au plus {max_length} caractère(s)",
}
_BRANCH = re.compile(r"[\[\]()]")


def key_path(prefix: str, loc: tuple[Any, ...]) -> str:
    """``("exports", 0, "format", "quotechar")`` → ``exports[0].format.quotechar``."""
    parts = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        elif not _BRANCH.search(str(part)):  # union branches (« lax-or-strict[...] ») are noise
            parts.append(str(part))
    return ".".join(parts)


def shown(value: Any) -> str:
    """A refused value as the analyst wrote it (never a whole block)."""
    if value is None:
        return "vide"
    if isinstance(value, dict):
        return "un dictionnaire"
    if isinstance(value, list):
        return "une liste"
    return f"« {value} »" if isinstance(value, str) else repr(value)


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Annotated, Optional and unions opened)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for a in get_args(annotation) for t in _unwrap(a) if t is not type(None)]
    return [annotation]


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The types admitted at ``loc`` in ``model`` (empty when the walk leaves the schema)."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for ann in current:
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                field = _field_named(ann, str(part))
                if field is not None and not isinstance(part, int):
                    nxt.extend(_unwrap(field.annotation))
            elif get_origin(ann) in (list, tuple) and isinstance(part, int):
                nxt.extend(t for a in get_args(ann) if a is not Ellipsis for t in _unwrap(a))
            elif get_origin(ann) is dict:
                nxt.extend(_unwrap(get_args(ann)[1]))
        if not nxt:
            return []
        current = nxt
    return current


def _field_named(model: type[BaseModel], key: str) -> Any:
    """The field a file key names: its alias when it has one (``in`` for ``in_``)."""
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return field
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys admitted where an unknown key was found (empty if that place is no model)."""
    for ann in _annotation_at(model, loc[:-1]):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return [f.alias or name for name, f in ann.model_fields.items()]
    return []


def allowed_values(annotation: Any) -> list[Any]:
    """The values of a closed list (``Literal``) an annotation admits; empty otherwise."""
    return [v for a in _unwrap(annotation) if get_origin(a) is Literal for v in get_args(a)]


def _problem(
    model: type[BaseModel],
    err: Any,
    prefix: str,
    patterns: dict[str, str],
    missing_hint: str,
    name_key_in_values: bool,
) -> str:
    loc, kind = tuple(err["loc"]), err["type"]
    ctx = err.get("ctx") or {}
    key = key_path(prefix, loc)
    if ctx.get("at"):
        key = f"{key}.{ctx['at']}" if key else str(ctx["at"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        hint = f" (clés admises à cet endroit : {', '.join(allowed)})" if allowed else ""
        return f"clé inconnue « {key} » : corrigez son orthographe ou supprimez-la{hint}."
    if kind == "missing":
        return f"clé « {key} » absente : ajoutez-la ({missing_hint})."
    value = shown(err.get("input"))
    if kind == "literal_error":
        values = [v for a in _annotation_at(model, loc) for v in allowed_values(a)]
        listed = ", ".join(str(v) for v in values) if values else str(ctx.get("expected"))
        return f"« {key} » vaut {value} : valeurs admises : {listed}."
    if kind in _TYPES:
        return f"« {key} » vaut {value} : attendu {_TYPES[kind]}."
    if kind in _BOUNDS:
        return f"« {key} » vaut {value} : attendu {_BOUNDS[kind].format(**ctx)}."
    if kind == "string_pattern_mismatch":
        shape = patterns.get(str(ctx.get("pattern")), f"la forme {ctx.get('pattern')}")
        return f"« {key} » vaut {value} : attendu {shape}."
    if kind == "value_error" or "at" in ctx or kind.startswith("mapping_"):
        text = str(ctx.get("error", err["msg"]))
        return f"« {key} » : {text}" if name_key_in_values and key else text
    return f"« {key} » vaut {value} : valeur refusée ({err['msg']})."


def french_problems(
    model: type[BaseModel],
    exc: ValidationError,
    prefix: str = "",
    *,
    patterns: dict[str, str] | None = None,
    missing_hint: str = "voir le modèle commenté du dépôt",
    name_key_in_values: bool = False,
) -> list[str]:
    """One French sentence per error of ``exc`` (raised by ``model``), keys under ``prefix``.

    ``patterns`` words the regular expressions of ``Field(pattern=…)``; ``name_key_in_values``
    puts the key path before the message of a validator (whose text may not name it).
    """
    return [
        _problem(model, err, prefix, patterns or {}, missing_hint, name_key_in_values)
        for err in exc.errors()
    ]


def read_params_yaml(path: Path, error: type[Exception], what: str) -> Any:
    """The parsed YAML of a parameters file, or ``error`` with a French message saying what to
    mend (never a yaml traceback); ``what`` names the file for the reader (« des paramètres de
    terrain »). An empty file reads as ``{}``."""
    try:
        return yamltext.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise error(
            f"Fichier {what} illisible ({path}) : {exc}\n  À faire : corrigez la syntaxe YAML "
            "(indentation, deux-points, guillemets) puis relancez."
        ) from None


def params_refusal(problems: list[str], what: tuple[str, str], source: object, doc: str) -> str:
    """The French refusal of a parameters file: one problem on the head line, several listed;
    ``what`` says whose parameters (« Paramètre des projets refusé », « Paramètres des projets
    refusés »), ``doc`` the page to read."""
    one, many = what
    if len(problems) == 1:
        head = f"{one} refusé dans {source} : {problems[0]}"
    else:
        head = f"{many} refusés dans {source} :\n" + "\n".join(f"  - {p}" for p in problems)
    return f"{head}\n  À faire : corrigez {source} puis relancez la commande (voir {doc})."
