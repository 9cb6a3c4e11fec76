"""Content-addressed artifact store: files named by SHA-256, written atomically, re-hashed on load."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import joblib
import pyarrow as pa
import pyarrow.parquet as pq
from sqlmodel import Session

from mlcore.errors import MLCoreError, NotFound
from mlcore.store.models import Artifact

_CHUNK = 4 * 1024 * 1024


class ArtifactCorrupted(MLCoreError):
    """The file on disk no longer matches the hash recorded for it."""


@dataclass(frozen=True)
class ArtifactRef:
    """A stored file: its SHA-256 and size in bytes."""

    sha256: str
    size: int


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """Files under ``root`` named by their SHA-256.

    Examples
    --------
    >>> import tempfile
    >>> store = ArtifactStore(Path(tempfile.mkdtemp()))
    >>> ref = store.put_bytes(b"hello")
    >>> store.read_bytes(ref.sha256)
    b'hello'
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound("errors.artifact_missing", sha256=sha256[:80])
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="w-")
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, tmp: Path) -> ArtifactRef:
        sha = sha256_file(tmp)
        size = tmp.stat().st_size
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_file() and final.stat().st_size == size:
            return ArtifactRef(sha, size)
        os.replace(tmp, final)  # atomic: readers see the whole file or none
        return ArtifactRef(sha, size)

    def put_writer(self, write: Callable[[Path], Any]) -> ArtifactRef:
        """Store what ``write(tmp_path)`` writes to a temporary path."""
        with self._staging() as tmp:
            write(tmp)
            return self._commit(tmp)

    def put_bytes(self, data: bytes) -> ArtifactRef:
        return self.put_writer(lambda p: p.write_bytes(data))

    def put_table(self, table: pa.Table) -> ArtifactRef:
        """Store an Arrow table as Parquet (zstd)."""
        return self.put_writer(lambda p: pq.write_table(table, p, compression="zstd"))

    def put_joblib(self, obj: Any) -> ArtifactRef:
        return self.put_writer(lambda p: joblib.dump(obj, p, compress=3))

    def verified_path(self, sha256: str) -> Path:
        """Return the file's path after checking that its content still has this hash.

        Raises
        ------
        NotFound
            If the file is missing.
        ArtifactCorrupted
            If the content no longer matches ``sha256``.
        """
        path = self.path(sha256)
        if not path.is_file():
            raise NotFound("errors.artifact_missing", sha256=sha256)
        if sha256_file(path) != sha256:
            raise ArtifactCorrupted("errors.artifact_corrupted", sha256=sha256)
        return path

    def read_bytes(self, sha256: str) -> bytes:
        return self.verified_path(sha256).read_bytes()

    def read_table(self, sha256: str, *, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.verified_path(sha256), columns=columns)

    def open_verified(self, sha256: str) -> IO[bytes]:
        return open(self.verified_path(sha256), "rb")


def register_artifact(*, session: Session, ref: ArtifactRef, kind: str, actor_id: int | None) -> Artifact:
    """Record that Ciclo wrote this artifact (idempotent)."""
    row = session.get(Artifact, ref.sha256)
    if row is None:
        row = Artifact(sha256=ref.sha256, kind=kind, size=ref.size, created_by_id=actor_id)
        session.add(row)
        session.flush()
    return row


def load_joblib(*, session: Session, store: ArtifactStore, sha256: str) -> Any:
    """Load a joblib artifact, but only one Ciclo recorded as its own (pickle runs code).

    Raises
    ------
    NotFound
        If no joblib artifact with this hash was written by Ciclo.
    ArtifactCorrupted
        If the file changed since it was written.
    """
    row = session.get(Artifact, sha256)
    if row is None or row.kind != "joblib":
        raise NotFound("errors.artifact_not_ours", sha256=sha256)
    return joblib.load(store.verified_path(sha256))
