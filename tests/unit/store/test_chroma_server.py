"""Chroma by URL: bad URLs refused; on the server back-end, a URL's database is created and kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from tests.servers import servers
from triage.errors import ConfigurationError
from triage.store.chroma import ChromaVectorStore, open_chroma


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "http:///nohost", "127.0.0.1:8000"], ids=str)
def test_a_bad_chroma_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_chroma(url=url)


def test_each_database_on_one_server_keeps_its_own_vectors() -> None:
    found = servers()
    if found is None:
        pytest.skip("needs the Chroma server of the postgres back-end (TRIAGE_TEST_BACKEND=postgres)")
    first, second = found.chroma.new_database(), found.chroma.new_database()
    vectors = np.eye(3, dtype=np.float32)
    ChromaVectorStore(open_chroma(url=first), "minilm", 3).upsert(["a", "b", "c"], vectors)
    reopened = ChromaVectorStore(open_chroma(url=first), "minilm", 3)
    other = ChromaVectorStore(open_chroma(url=second), "minilm", 3)
    assert reopened.count() == 3
    np.testing.assert_allclose(reopened.get(["b"])["b"], vectors[1], atol=1e-6)
    assert other.count() == 0 and other.get(["a"]) == {}
