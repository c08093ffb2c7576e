"""Response heads as the transport reads them: status, headers, body, and connection reuse.

The corpus is ``tests/data/response_heads/*.http`` (the raw bytes a server sends),
each beside a ``.json`` with what must come out: ``status``, ``reason``,
``headers`` (lower-case names, repeats joined with ", ", folded white space
collapsed), ``body`` (Latin-1 text of the bytes) and ``reusable`` (whether the
connection may carry another request). The expected files were written with
``http.client`` as the witness; where ``http.client`` reads otherwise, they say so
under ``http_client`` (``tests/test_h1.py`` compares the two), and the transport reads
as the expected file says.
"""

import json
import socket
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

from openai_params._http import HTTPRequest
from openai_params.transport import Transport

CORPUS = Path(__file__).resolve().parent / "data" / "response_heads"
CASES = sorted(CORPUS.glob("*.http"))


def _expected(path: Path) -> Dict[str, Any]:
    loaded: Dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return loaded


# The heads this test can serve (a note under "sync_transport" in a case's .json says why not).
SYNC_CASES = [p for p in CASES if "sync_transport" not in _expected(p)]


class OneReplyServer:
    """Answers every request with the same raw bytes; closes after each one unless ``keep``."""

    def __init__(self, raw: bytes, keep: bool) -> None:
        self.raw = raw
        self.keep = keep
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.url = "http://127.0.0.1:%d/x" % self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self._answer(conn) and self.keep:
                    pass

    def _answer(self, conn: socket.socket) -> bool:
        received = b""
        while b"\r\n\r\n" not in received:
            data = conn.recv(65536)
            if not data:
                return False
            received += data
        conn.sendall(self.raw)
        return True

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("path", SYNC_CASES, ids=[p.stem for p in SYNC_CASES])
def test_the_transport_reads_each_head_as_http_says(path: Path) -> None:
    expected = _expected(path)
    server = OneReplyServer(path.read_bytes(), keep=expected["reusable"])
    try:
        with Transport(proxies={}) as transport:
            seen: List[Any] = []
            for _ in range(2):
                response = transport.send(HTTPRequest("GET", server.url), timeout=5, max_retries=0)
                headers = {k: " ".join(v.split()) for k, v in response.headers.items()}
                seen.append((response.status, response.reason, headers, response.read().decode("latin-1")))
    finally:
        server.close()
    assert seen[0] == (expected["status"], expected["reason"], expected["headers"], expected["body"])
    assert seen[1] == seen[0]
    # A reusable connection carries the second request; any other is replaced.
    assert server.connections == (1 if expected["reusable"] else 2)


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 12
    assert all(p.with_suffix(".json").exists() for p in CASES)
