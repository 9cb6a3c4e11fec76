"""Dataset versions: saving, listing, lineage, exports, concurrency, and refusals that store nothing."""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import replace

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlmodel import select

from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, import_file, save_table, stage_upload
from mlcore.data.lineage import build_lineage, lineage_figure
from mlcore.data.versions import (
    columns_frame,
    export_csv,
    export_parquet,
    get_version,
    list_versions,
    read_version,
    versions_frame,
)
from mlcore.errors import InputError, NotFound
from mlcore.store.engine import session_scope
from mlcore.store.models import Dataset, DatasetVersion

SRC = ingest.SourceInfo(format="synthetic", encoding=None, delimiter=None)


def _loaded(n: int = 20) -> ingest.LoadedTable:
    df = pd.DataFrame({"id": range(n), "x": [i * 0.5 for i in range(n)], "y": [i % 2 for i in range(n)]})
    return ingest.load_frame(df, source=SRC)


def _count_versions(ws) -> int:
    with session_scope(ws.engine) as s:
        return len(s.exec(select(DatasetVersion)).all())


def test_save_list_read_round_trip(ws, actor_and_project):
    actor, project = actor_and_project
    loaded = _loaded()
    v1 = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        actor_id=actor,
        operation="synthetic",
        where=ImportTarget(project_id=project, dataset_name="base", target="y"),
    )
    v2 = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        actor_id=actor,
        operation="filter",
        where=ImportTarget(project_id=project, dataset_name="base", target="y"),
        parent_id=v1.id,
    )
    assert (v1.number, v2.number) == (1, 2) and v2.parent_id == v1.id
    assert v1.sha256 == v2.sha256  # same content, same fingerprint
    assert v1.n_rows == 20 and v1.n_cols == 3 and v1.created_by == "ana" and v1.target == "y"
    with session_scope(ws.engine) as s:
        assert [v.label for v in list_versions(session=s, project_id=project)] == ["base v1", "base v2"]
        got = get_version(session=s, version_id=v2.id)
    assert read_version(store=ws.store, version=got).equals(loaded.table)
    assert hashlib.sha256(ws.store.path(v1.sha256).read_bytes()).hexdigest() == v1.sha256
    assert list(versions_frame([v1, v2])["version"]) == ["base v2", "base v1"] or len(versions_frame([v1, v2])) == 2
    assert list(columns_frame(v1)["name"]) == ["id", "x", "y"]
    graph = build_lineage([v1, v2])
    assert graph.edges == ((v1.id, v2.id),)
    assert {n.label for n in graph.nodes} == {"base v1", "base v2"}
    assert len(lineage_figure(graph).layout.annotations) == 1


def test_export_csv_neutralises_formulas_and_parquet_is_the_artifact(ws, actor_and_project):
    actor, project = actor_and_project
    df = pd.DataFrame(
        {"name": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok"], "n": [-1, 2, 3, 4, 5, 6, 7]}
    )
    v = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=ingest.load_frame(df, source=SRC, roles={"name": "text"}),
        where=ImportTarget(project_id=project, dataset_name="evil"),
        actor_id=actor,
        operation="synthetic",
    )
    table = read_version(store=ws.store, version=v)
    text = export_csv(table).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert all(not str(c).startswith(("=", "+", "-", "@", "\t", "\r")) for c in back["name"])
    assert list(back["n"]) == [-1, 2, 3, 4, 5, 6, 7]  # numbers are left alone
    raw = export_parquet(store=ws.store, version=v)
    assert hashlib.sha256(raw).hexdigest() == v.sha256
    assert pq.read_table(io.BytesIO(raw)).num_rows == 7


@pytest.mark.parametrize("name", ["../x", "/etc", "a/b", "", "..", "x\ny"])
def test_bad_dataset_names_store_nothing(ws, actor_and_project, name):
    actor, project = actor_and_project
    with pytest.raises(InputError):
        save_table(
            engine=ws.engine,
            store=ws.store,
            loaded=_loaded(),
            actor_id=actor,
            operation="synthetic",
            where=ImportTarget(project_id=project, dataset_name=name),
        )
    assert _count_versions(ws) == 0


def test_unknown_target_and_project_store_nothing(ws, actor_and_project):
    actor, project = actor_and_project
    with pytest.raises(InputError) as info:
        save_table(
            engine=ws.engine,
            store=ws.store,
            loaded=_loaded(),
            actor_id=actor,
            operation="synthetic",
            where=ImportTarget(project_id=project, dataset_name="d", target="nope"),
        )
    assert info.value.key == "errors.target_not_a_column"
    with pytest.raises(NotFound):
        save_table(
            engine=ws.engine,
            store=ws.store,
            loaded=_loaded(),
            actor_id=actor,
            operation="synthetic",
            where=ImportTarget(project_id=999, dataset_name="d"),
        )
    assert _count_versions(ws) == 0
    with session_scope(ws.engine) as s:
        assert s.exec(select(Dataset)).all() == []


def test_two_imports_into_the_same_project_at_the_same_time(ws, actor_and_project):
    actor, project = actor_and_project
    results, errors = [], []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        barrier.wait()
        try:
            results.append(
                save_table(
                    engine=ws.engine,
                    store=ws.store,
                    loaded=_loaded(10 + i),
                    actor_id=actor,
                    operation="synthetic",
                    where=ImportTarget(project_id=project, dataset_name="same"),
                )
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(v.number for v in results) == [1, 2, 3, 4]
    with session_scope(ws.engine) as s:
        assert len(s.exec(select(Dataset)).all()) == 1


def test_stage_upload_refuses_big_files_and_leaves_nothing(settings):
    small = replace(settings, limits=replace(settings.limits, max_upload_bytes=1000))
    with pytest.raises(InputError) as info:
        stage_upload(settings=small, stream=io.BytesIO(b"x" * 5000), filename="big.csv")
    assert info.value.key == "errors.upload_too_large"
    assert list(small.staging_dir.iterdir()) == []
    ok = stage_upload(settings=small, stream=io.BytesIO(b"a,b\n1,2\n"), filename="../../evil name.csv")
    assert ok.parent == small.staging_dir and ok.suffix == ".csv"


def test_import_file_end_to_end(ws, actor_and_project, tmp_path):
    actor, project = actor_and_project
    path = tmp_path / "d.csv"
    path.write_text("a,b,target\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)), encoding="utf-8")
    steps = []
    v = import_file(
        engine=ws.engine,
        settings=ws.settings,
        path=path,
        filename="d.csv",
        actor_id=actor,
        where=ImportTarget(project_id=project, dataset_name="d", target="target"),
        progress=lambda f, k: steps.append(f),
    )
    assert v.operation == "import_csv" and v.n_rows == 30 and v.recipe["filename"] == "d.csv"
    assert steps == sorted(steps) and steps[-1] < 1.0


def test_role_choices_resolve_problems(tmp_path, settings):
    from mlcore.data.imports import read_role_choices, role_editor_frame, target_candidates

    path = tmp_path / "p.csv"
    rows = "".join(f"{i},{i if i != 7 else 'unknown'},,{i % 2}\n" for i in range(40))
    path.write_text("id,amount,empty,y\n" + rows, encoding="utf-8")
    preview = ingest.preview_file(path, filename="p.csv", limits=settings.limits)
    keys = {(p.column, p.key) for p in preview.problems}
    assert ("amount", "ingest.mixed_column") in keys and ("empty", "ingest.empty_column") in keys
    frame = role_editor_frame(preview)
    assert frame.set_index("column").loc["amount", "role"] is None  # the user must decide
    untouched = read_role_choices(preview, frame)
    assert {p.column for p in untouched.unresolved} == {"amount", "empty"}
    frame.loc[frame["column"] == "amount", "role"] = "numeric"
    frame.loc[frame["column"] == "empty", "role"] = "numeric"  # a role does not fix an empty column
    assert {p.column for p in read_role_choices(preview, frame).unresolved} == {"empty"}
    frame.loc[frame["column"] == "empty", "drop"] = True
    choices = read_role_choices(preview, frame)
    assert choices.unresolved == () and choices.drop == ("empty",)
    assert "empty" not in target_candidates(preview, choices)
    loaded = ingest.load_file(path, filename="p.csv", limits=settings.limits, roles=choices.roles, drop=choices.drop)
    assert loaded.table.column("amount").null_count == 1 and "empty" not in loaded.table.column_names
