"""Artifact store: content addressing, atomic writes, hash re-checked on load."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from mlcore.artifacts import ArtifactCorrupted, ArtifactStore, load_joblib, register_artifact
from mlcore.errors import NotFound
from mlcore.store.engine import session_scope


def test_put_and_read_bytes(tmp_path):
    store = ArtifactStore(tmp_path)
    ref = store.put_bytes(b"abc")
    assert ref.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert ref.size == 3
    assert store.path(ref.sha256).name == ref.sha256
    assert store.read_bytes(ref.sha256) == b"abc"
    assert store.put_bytes(b"abc") == ref  # same content, same name
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind


def test_table_round_trip(tmp_path):
    store = ArtifactStore(tmp_path)
    table = pa.table({"a": [1, 2, 3], "b": ["x", None, "z"]})
    ref = store.put_table(table)
    assert store.read_table(ref.sha256).equals(table)


def test_tampered_file_is_refused(tmp_path):
    store = ArtifactStore(tmp_path)
    ref = store.put_bytes(b"original")
    store.path(ref.sha256).write_bytes(b"tampered")
    with pytest.raises(ArtifactCorrupted) as info:
        store.read_bytes(ref.sha256)
    assert info.value.key == "errors.artifact_corrupted"


def test_missing_and_malformed_hashes(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(NotFound):
        store.read_bytes("0" * 64)
    with pytest.raises(NotFound):
        store.read_bytes("../../etc/passwd")


def test_failed_write_leaves_nothing(tmp_path):
    store = ArtifactStore(tmp_path)

    def boom(path):
        path.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.put_writer(boom)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == []


def test_joblib_only_loads_what_ciclo_wrote(ws):
    ref = ws.store.put_joblib({"model": [1, 2, 3]})
    with session_scope(ws.engine) as s:
        with pytest.raises(NotFound) as info:
            load_joblib(session=s, store=ws.store, sha256=ref.sha256)
        assert info.value.key == "errors.artifact_not_ours"
        register_artifact(session=s, ref=ref, kind="joblib", actor_id=None)
        assert load_joblib(session=s, store=ws.store, sha256=ref.sha256) == {"model": [1, 2, 3]}
    # a foreign file dropped into the store under a registered name is refused by the hash check
    ws.store.path(ref.sha256).write_bytes(b"not a pickle we wrote")
    with session_scope(ws.engine) as s, pytest.raises(ArtifactCorrupted):
        load_joblib(session=s, store=ws.store, sha256=ref.sha256)
