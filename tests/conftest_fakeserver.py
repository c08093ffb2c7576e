"""pytest fixtures for the fake server (see ``tests/fakeserver.py``).

Import them where they are needed (``tests/conftest.py`` makes them available to every test)::

    from conftest_fakeserver import fake_server, proxy_server, second_server  # noqa: F401
"""

from typing import Iterator

import pytest

from fakeserver import FakeServer


def _serving() -> Iterator[FakeServer]:
    """One listener for the length of a test; closed (held replies released) after it."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A :class:`FakeServer` on 127.0.0.1; closed (held replies released) after the test."""
    yield from _serving()


@pytest.fixture
def second_server() -> Iterator[FakeServer]:
    """Another listener, e.g. a redirect target that must receive nothing."""
    yield from _serving()


@pytest.fixture
def proxy_server() -> Iterator[FakeServer]:
    """A listener used as an HTTP proxy: it records absolute-form requests and CONNECTs."""
    yield from _serving()
