"""ChromaVectorStore: vectors in Chroma, embedded on disk or on a server by URL."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import chromadb
import numpy as np
import numpy.typing as npt
from chromadb.api import ClientAPI
from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT
from chromadb.config import Settings as ChromaSettings

from triage.errors import ConfigurationError
from triage.ports import Vectors

log = logging.getLogger(__name__)
_CHUNK = 1000


def open_chroma(path: Path | None = None, url: str | None = None) -> ClientAPI:
    """A Chroma client with telemetry off: `HttpClient` when `url` is given, else on-disk at `path`.

    A URL may name a tenant and database, `http://host:8000/?tenant=t&database=d` (default: Chroma's
    defaults); a named database is created when missing.
    """
    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url)
        if not parsed.hostname or parsed.scheme not in ("http", "https"):
            raise ConfigurationError(f"bad Chroma URL: {url!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        query = parse_qs(parsed.query)
        tenant = query.get("tenant", [DEFAULT_TENANT])[0]
        database = query.get("database", [DEFAULT_DATABASE])[0]
        ssl = parsed.scheme == "https"
        if database != DEFAULT_DATABASE:
            _ensure_database(parsed.hostname, port, ssl, tenant, database)
        return chromadb.HttpClient(
            host=parsed.hostname, port=port, ssl=ssl, settings=settings, tenant=tenant, database=database
        )
    if path is None:
        raise ConfigurationError("Chroma needs a path or a URL")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _ensure_database(host: str, port: int, ssl: bool, tenant: str, database: str) -> None:
    admin = chromadb.AdminClient(
        ChromaSettings(
            anonymized_telemetry=False,
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
            chroma_server_ssl_enabled=ssl,
        )
    )
    try:
        admin.get_database(database, tenant=tenant)
    except Exception:  # chromadb raises its own NotFoundError, or a plain error on older servers
        try:
            admin.create_database(database, tenant=tenant)
        except Exception as exc:  # created meanwhile by another process: fine if it exists now
            try:
                admin.get_database(database, tenant=tenant)
            except Exception:
                raise ConfigurationError(f"cannot create Chroma database {database!r}") from exc


class ChromaVectorStore:
    """One collection per embedding model; ids are text hashes; Chroma never embeds anything itself."""

    def __init__(self, client: ClientAPI, model_alias: str, dimensions: int) -> None:
        self._dimensions = dimensions
        # embedding_function=None: otherwise Chroma attaches a default model that downloads on first use.
        self._collection = client.get_or_create_collection(
            name=f"embeddings_{model_alias}",
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "model": model_alias, "dimensions": dimensions},
        )

    def get(self, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        found: dict[str, npt.NDArray[np.float32]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            result = self._collection.get(ids=chunk, include=["embeddings"])
            embeddings = result["embeddings"]
            if embeddings is None:
                continue
            for id_, vector in zip(result["ids"], embeddings, strict=True):
                found[id_] = np.asarray(vector, dtype=np.float32)
        return found

    def upsert(self, ids: Sequence[str], vectors: Vectors) -> None:
        if vectors.shape[1] != self._dimensions:
            raise ConfigurationError(f"vectors have {vectors.shape[1]} dimensions, the collection {self._dimensions}")
        for start in range(0, len(ids), _CHUNK):
            self._collection.upsert(
                ids=list(ids[start : start + _CHUNK]), embeddings=vectors[start : start + _CHUNK].tolist()
            )

    def count(self) -> int:
        return int(self._collection.count())
