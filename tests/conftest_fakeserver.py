"""pytest fixtures for the fake server (see ``tests/fakeserver.py``).

Import them where they are needed (``tests/conftest.py`` makes them available to every test)::

    from conftest_fakeserver import fake_server, proxy_server, second_server  # noqa: F401
"""

from typing import Iterator

import pytest

from fakeserver import FakeServer


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A :class:`FakeServer` on 127.0.0.1; closed (held replies released) after the test."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def second_server() -> Iterator[FakeServer]:
    """Another listener, e.g. a redirect target that must receive nothing."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def proxy_server() -> Iterator[FakeServer]:
    """A listener used as an HTTP proxy: it records absolute-form requests and CONNECTs."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()
