"""What each plan's map prints about the services: who is open, with which hours per phase.

The services directory (:mod:`observatoire.config.services`) gives the usual hours and the
hours of phases no plan sets; ``params/plans.yaml`` gives the hours (and extra beds) a plan
sets for a service in a phase. One fact lives in one place: :func:`check_against_plans` refuses
a directory that restates a plan's hours, an hours key naming no phase, and a plan rule naming
no service of the directory.

A service is on a plan's map when it has hours in at least one phase of the plan and its
opening dates (``dates``), if any, meet the plan's window of the report year. Services are
numbered in a stable order — by dispositif rank, then name — so number 3 is the same service
on the A4, the A3, the HTML map and the flyer of a plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from observatoire.config.services import NORMAL, WELCOME_LABELS, Service, ServicesDirectory
from observatoire.core.dispositifs import DISPOSITIFS, by_code
from observatoire.core.errors import ObservatoireError
from observatoire.plans.settings import Plan, Plans

__all__ = [
    "DirectoryError",
    "MapService",
    "PhaseHours",
    "check_against_plans",
    "french_hours",
    "keep_together",
    "services_of_plan",
    "welcome_text",
]


class DirectoryError(ObservatoireError, ValueError):
    """The services directory and the plans disagree."""


@dataclass(frozen=True)
class PhaseHours:
    phase: str
    label: str
    hours: str | None  # None: closed in this phase


@dataclass(frozen=True)
class MapService:
    """A service as a plan's map prints it."""

    number: int
    service: Service
    phases: tuple[PhaseHours, ...]
    extra_beds: dict[str, int]  # phase id → extra beds the plan opens

    @property
    def dispositif_label(self) -> str:
        return DISPOSITIFS[self.service.dispositif]

    def hours(self, phase: str) -> str | None:
        for p in self.phases:
            if p.phase == phase:
                return p.hours
        return None


_NBSP = "\u00a0"
_HOUR_SPACE = re.compile(r"(\d) h\b")
_HHMM = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def french_hours(value: str) -> str:
    """« 18:00-10:00 » (plans.yaml) → « 18 h – 10 h » ; « 08:30-12:00 » → « 8 h 30 – 12 h »."""
    m = _HHMM.match(value)
    if not m:
        return value

    def one(h: str, mm: str) -> str:
        return f"{int(h)} h" + (f" {mm}" if mm != "00" else "")

    return f"{one(m[1], m[2])} – {one(m[3], m[4])}"


def keep_together(text: str) -> str:
    """No line break inside « 9 h 30 », « 9 h – 16 h » or next to a French quotation mark."""
    text = _HOUR_SPACE.sub(lambda m: m[1] + _NBSP + "h", text)
    text = re.sub(rf"(\d{_NBSP}h) (\d\d)", rf"\1{_NBSP}\2", text)
    text = re.sub(rf"(\d{_NBSP}h(?:{_NBSP}\d\d)?) – (\d)", rf"\1{_NBSP}–{_NBSP}\2", text)
    return text.replace("« ", "«" + _NBSP).replace(" »", _NBSP + "»")


def welcome_text(service: Service) -> str:
    return ", ".join(WELCOME_LABELS[w] for w in service.welcome)


def _rules(plan: Plan, service: Service) -> list:
    ids = {service.id} | ({service.partner} if service.partner else set())
    return [r for r in plan.services if r.service in ids]


def _rule_text(rules: list, first: date, last: date) -> str | None:
    """The hours the plan sets (rules in force some day of the window), dates when partial."""
    texts = []
    for r in rules:
        if r.hours is None:
            continue
        lo = max(first, r.from_ or first)
        hi = min(last, r.to or last)
        if lo > hi:
            continue
        text = french_hours(r.hours)
        if (lo, hi) != (first, hi) or hi != last:
            text += f" (du {lo:%d/%m} au {hi:%d/%m})"
        texts.append(text)
    return " ; ".join(texts) if texts else None


def _dates_meet(service: Service, first: date, last: date) -> bool:
    if service.dates is None:
        return True
    day = first
    while day <= last:
        if service.dates.covers(day):
            return True
        day += timedelta(days=1)
    return False


def services_of_plan(directory: ServicesDirectory, plan: Plan, year: int) -> list[MapService]:
    """The services open during ``plan`` in report year ``year``, numbered, with each phase's
    hours (the plan's when it sets them, else the directory's phase hours, else the usual)."""
    first, last = plan.window(year)
    rows = []
    for service in directory.services:
        if not _dates_meet(service, first, last):
            continue
        rules = _rules(plan, service)
        phases, beds = [], {}
        for phase in plan.phases:
            in_phase = [r for r in rules if r.phase == phase.id]
            hours = _rule_text(in_phase, first, last) or service.hours_in(plan.id, phase.id)
            phases.append(PhaseHours(phase.id, phase.label, hours))
            extra = max((r.extra_beds for r in in_phase), default=0)
            if extra:
                beds[phase.id] = extra
        if any(p.hours for p in phases):
            rows.append((service, tuple(phases), beds))
    rows.sort(key=lambda r: (by_code(r[0].dispositif).chart_rank, r[0].name))
    return [MapService(i + 1, s, p, b) for i, (s, p, b) in enumerate(rows)]


def check_against_plans(directory: ServicesDirectory, plans: Plans) -> None:
    """Refuse, in French, what would make a map disagree with the plans (see module doc)."""
    problems = []
    phase_ids = {p.id for plan in plans.plans.values() for p in plan.phases}
    qualified = {f"{plan.id}.{p.id}" for plan in plans.plans.values() for p in plan.phases}
    known = {s.id for s in directory.services} | {
        s.partner for s in directory.services if s.partner
    }
    for service in directory.services:
        for key in service.hours:
            if key != NORMAL and key not in phase_ids | qualified:
                problems.append(
                    f"services « {service.id} » : horaires « {key} » : aucune phase de ce nom "
                    f"dans params/plans.yaml (clés admises : normal, "
                    f"{', '.join(sorted(phase_ids | qualified))})."
                )
        for plan in plans.plans.values():
            for rule in _rules(plan, service):
                if rule.hours is None:
                    continue
                for key in (f"{plan.id}.{rule.phase}", rule.phase):
                    if key in service.hours:
                        problems.append(
                            f"services « {service.id} » : horaires « {key} » déjà fixés par "
                            f"params/plans.yaml ({plan.id}, phase {rule.phase} : {rule.hours}) ; "
                            "retirez-les du répertoire (un seul endroit par horaire)."
                        )
    for plan in plans.plans.values():
        for rule in plan.services:
            if rule.service not in known:
                problems.append(
                    f"params/plans.yaml, plan « {plan.id} » : service « {rule.service} » absent "
                    "du répertoire des services (ni identifiant ni partenaire) : ajoutez-le à "
                    "params/services.yaml pour qu'il figure sur les cartes."
                )
    if not problems:
        for service in directory.services:
            if not service.hours and not any(
                _rules(plan, service) for plan in plans.plans.values()
            ):
                problems.append(
                    f"services « {service.id} » : aucun horaire (ni « normal », ni phase, ni "
                    "plan) : le service ne figurerait sur aucune carte."
                )
    if problems:
        raise DirectoryError(
            "Répertoire des services et plans en désaccord :\n"
            + "\n".join(f"  - {p}" for p in sorted(set(problems)))
            + "\n  À faire : corrigez params/services.yaml ou params/plans.yaml (docs/cartes.md)."
        )
