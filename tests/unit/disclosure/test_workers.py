"""The publication's searches on worker processes (:func:`run_groups`): the same results, the
same printed lines and the same errors as one after the other in one process."""

from __future__ import annotations

import os
import signal
import time
from functools import partial

import pytest

from observatoire.core.errors import ObservatoireError, PublicationRefused
from observatoire.disclosure import suppression
from observatoire.disclosure.suppression import Budget, audit, protect
from observatoire.disclosure.workers import (
    WORKERS_ENV,
    SearchWorkerLost,
    run_groups,
    search_workers,
)
from tests.support.tables import grid

K = 5
SMALL_GROUPS = {
    "a": [grid([[3, 50, 8, 12], [40, 60, 9, 2], [7, 4, 30, 25]], name="a")],
    "b": [grid([[4, 43, 15], [14, 40, 6]], name="b")],
    "c": [grid([[55, 16], [15, 22], [26, 3]], name="c")],
    "d": [grid([[1, 9, 30], [22, 2, 41], [6, 18, 3]], name="d")],
}


def _search(tables):
    """A small group's search, and what an audit reads of it (pattern and intervals)."""
    pub = protect(tables, K, budget=Budget(nodes=20, solves=50))
    return dict(pub.status), audit(pub).to_dict("list"), pub.search.groups


def test_the_small_groups_give_the_same_patterns_on_one_process_and_on_two():
    tasks = {name: partial(_search, tables) for name, tables in SMALL_GROUPS.items()}
    alone = run_groups(tasks, workers=1)
    side_by_side = run_groups(tasks, workers=2, first=("c",))
    assert list(side_by_side) == list(alone) == list(SMALL_GROUPS)
    assert side_by_side == alone


def _talk(name: str, pause: float) -> str:
    time.sleep(pause)
    print(f"début {name}")
    print(f"fin {name}")
    return name.upper()


def test_what_the_groups_print_comes_in_their_order_never_interleaved(capsys):
    tasks = {"lent": partial(_talk, "lent", 0.3), "vif": partial(_talk, "vif", 0.0)}
    assert run_groups(tasks, workers=2) == {"lent": "LENT", "vif": "VIF"}
    assert capsys.readouterr().out == "début lent\nfin lent\ndébut vif\nfin vif\n"


def _refuse(problem: str, pause: float = 0.0) -> None:
    time.sleep(pause)
    print(f"avant {problem}")
    raise PublicationRefused(problem)


def test_a_groups_error_is_the_one_of_the_run_in_one_process(capsys):
    """The first group that fails in the tasks' order, same class and message (the class's
    constructor does not take its own message again), even when a later one fails sooner."""
    tasks = {
        "ok": partial(_talk, "ok", 0.0),
        "premier": partial(_refuse, "premier", 0.3),
        "second": partial(_refuse, "second"),
    }
    errors = []
    for workers in (1, 2):
        with pytest.raises(PublicationRefused) as err:
            run_groups(tasks, workers=workers)
        errors.append((str(err.value), err.value.problem, capsys.readouterr().out))
    assert errors[0] == errors[1]
    assert errors[1][0].startswith("Publication refusée : premier\n")
    assert errors[1][2] == "début ok\nfin ok\navant premier\n"


def test_a_failure_stops_the_groups_after_it_still_running():
    """The run in one process would never have started them: the stage does not wait for them
    (this test would last ten minutes otherwise)."""
    tasks = {"refus": partial(_refuse, "refus", 0.2), "long": partial(time.sleep, 600)}
    with pytest.raises(PublicationRefused, match="refus"):
        run_groups(tasks, workers=2)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_dies_is_reported_in_french():
    tasks = {"meurt": _die, "ok": partial(_talk, "ok", 0.0)}
    with pytest.raises(SearchWorkerLost) as err:
        run_groups(tasks, workers=2)
    assert "s'est arrêté sans répondre" in str(err.value)
    assert isinstance(err.value, ObservatoireError)


@pytest.mark.parametrize(("value", "expected"), [(None, 2), ("1", 1), (" 3 ", 3)])
def test_the_number_of_workers_comes_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(WORKERS_ENV, value)
    assert search_workers() == expected


@pytest.mark.parametrize("value", ["0", "deux", "-1"])
def test_a_wrong_number_of_workers_is_refused_in_french(monkeypatch, value):
    monkeypatch.setenv(WORKERS_ENV, value)
    with pytest.raises(ObservatoireError, match="attendu un nombre entier de processus"):
        search_workers()


def _search_under_safety_net(tables):
    pub = protect(tables, K, budget=Budget(nodes=20, solves=50, safety_s=0.0))
    return dict(pub.status), pub.search.solver, pub.search.unfinished


def test_the_safety_net_reached_in_a_worker_is_reported_as_in_one_process(capsys):
    """Its flags come back with the pattern, its warning is printed by the stage in order."""
    tasks = {name: partial(_search_under_safety_net, t) for name, t in SMALL_GROUPS.items()}
    alone = run_groups(tasks, workers=1)
    printed_alone = capsys.readouterr()
    side_by_side = run_groups(tasks, workers=2)
    assert side_by_side == alone
    assert all(solver == "safety net" and unfinished for _, solver, unfinished in alone.values())
    assert capsys.readouterr() == printed_alone
    assert printed_alone.err.count("filet de sécurité") == len(SMALL_GROUPS)


def _protected(tables):
    return protect(tables, K, budget=Budget(nodes=20, solves=50))


def test_the_workers_hand_back_their_linear_programs_to_the_stage_audit(monkeypatch):
    """The audit after the searches finds the workers' intervals in its memo (no program solved
    again) and reads the same intervals as an audit that solves them all afresh."""
    tasks = {name: partial(_protected, tables) for name, tables in SMALL_GROUPS.items()}
    suppression._RANGES.clear()
    found = run_groups(tasks, workers=2)
    assert suppression._RANGES
    solved = []
    import scipy.optimize  # suppression imports linprog from it where a programme is solved

    linprog = scipy.optimize.linprog
    monkeypatch.setattr(
        scipy.optimize, "linprog", lambda *a, **kw: solved.append(1) or linprog(*a, **kw)
    )
    remembered = [audit(pub).to_dict("list") for pub in found.values()]
    assert not solved
    suppression._RANGES.clear()
    afresh = [audit(pub).to_dict("list") for pub in found.values()]
    assert solved and remembered == afresh
