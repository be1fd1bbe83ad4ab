"""Ingest on one process and on two (:func:`ingest_network`, ``workers``): the same tables,
accounting, warnings and printed lines to the bit, on a small generated sample; a partner's
error raised by a worker is the one the run in one process raises, after the same lines. The
guard's identity index (:func:`collect_identities`) is the same to the byte on one and on two."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.core.errors import ExportRejected
from observatoire.intake.ingest import IngestResult, ingest_network
from observatoire.intake.mapping import load_partners
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.sample import generate_sample

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes.fromhex("b2" * 32)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ingest_processus")
    shutil.copytree(ROOT / "params", root / "params")
    params = yaml.safe_load((root / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["sample"]["scale"] = 0.03
    generate_sample(params["sample"], root / "data_raw/sample", root / "data_raw/sample_truth")
    return root


def _ingest(root: Path, raw: Path, workers: int, capsys) -> tuple[IngestResult, str]:
    partners = load_partners(
        root / "params/partners", root / "params/codes", weather=True, field=True
    )
    capsys.readouterr()
    result = ingest_network(raw, partners, Pseudonymiser(KEY), workers=workers)
    return result, capsys.readouterr().out


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out)
    return out.getvalue()


def _record(result: IngestResult) -> dict:
    return {
        "contacts": _parquet(result.contacts),
        "tokens": _parquet(result.tokens),
        "refusals": _parquet(result.refusals),
        "aggregates": _parquet(result.aggregates),
        "weather": _parquet(result.weather),
        "field": {t: _parquet(f) for t, f in result.field_tables.items()},
        "files": [f.accounting() for f in result.files],
        "quarantine": [
            None if f.quarantined is None else _parquet(f.quarantined) for f in result.files
        ],
        "joined": [j.accounting() for j in result.joined],
        "coverage": result.coverage.to_json(),
        "warnings": result.warnings,
        "free_text": result.free_text,
    }


def test_one_process_and_two_give_the_same_bits(project: Path, capsys) -> None:
    raw = project / "data_raw/sample"
    # an identical copy across partners: the second partner's is set aside, as in one process
    copy = raw / "urgence_sociale" / "urgence_sociale_2019.csv"
    shutil.copy(raw / "abri_grand_froid" / "nuits_2024.csv", copy)
    try:
        alone, printed_alone = _ingest(project, raw, 1, capsys)
        side_by_side, printed_two = _ingest(project, raw, 2, capsys)
    finally:
        copy.unlink()
    assert len(alone.contacts) > 1000 and alone.field_tables
    assert _record(side_by_side) == _record(alone)
    assert printed_two == printed_alone
    assert "copie identique de abri_grand_froid/nuits_2024.csv" in printed_alone


def test_a_workers_error_is_the_one_of_the_run_in_one_process(
    project: Path, tmp_path: Path, capsys
) -> None:
    raw = tmp_path / "sample"
    shutil.copytree(project / "data_raw/sample", raw)
    damaged = sorted((raw / "housing_first").glob("*.xlsx"))[0]
    damaged.write_bytes(b"PK\x03\x04 pas un classeur")
    errors, printed = [], []
    for workers in (1, 2):
        with pytest.raises(ExportRejected) as caught:
            _ingest(project, raw, workers, capsys)
        errors.append((type(caught.value), str(caught.value), vars(caught.value)))
        printed.append(capsys.readouterr().out)
    assert errors[1] == errors[0]
    assert "housing_first" in errors[0][1] and "À faire" in errors[0][1]
    assert printed[1] == printed[0]


def test_the_identity_index_is_the_same_on_one_process_and_on_two(
    project: Path, tmp_path: Path
) -> None:
    from observatoire.guard.index import write_index
    from observatoire.guard.leaks import collect_identities

    partners = load_partners(project / "params/partners", project / "params/codes", field=True)
    written = []
    for workers in (1, 2):
        ids = collect_identities(project / "data_raw/sample", partners, KEY, workers)
        path = tmp_path / f"index_{workers}.json.gz"
        write_index(path, ids, "empreinte", "correspondances")
        written.append(path.read_bytes())
    assert ids.raw_files > 10 and ids.owners
    assert written[1] == written[0]
