"""Connections: where each URL's bytes go, and the connections that carry them.

* :class:`_Connector` turns an absolute URL into a :class:`_Route` (scheme,
  host, port, and the :class:`_Proxy` from ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
  ``ALL_PROXY`` / ``NO_PROXY`` or the ``proxies`` dict) plus the request-target,
  and makes the connection object for a route (:class:`._socket_connection.Connection`:
  a ``CONNECT`` tunnel for HTTPS through a proxy; TLS always verified).
* :class:`_Pool` keeps idle keep-alive connections per route and drops one the
  server closed while it sat idle (:class:`_ReadCheck`).

Connection objects are only made here; :mod:`.transport` opens them (the only
module that does). ``ssl``, ``socket`` and ``urllib.request`` are imported on first
use: the first request, never when a client is made (the proxy environment is read
then too).
"""

import select
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Generic, List, Optional, Protocol, Tuple, TypeVar
from urllib.parse import unquote, urlsplit

from ._redact import redact_url

if TYPE_CHECKING:
    import ssl

    from ._h1 import ResponseReader
    from ._socket_connection import Connection

_PoolKey = Tuple[str, str, int, Optional[str]]


# -- the pool ---------------------------------------------------------------------------------------
class _Pooled(Protocol):
    """A connection of either transport, as the pool sees it."""

    key: _PoolKey  # its route's
    reader: "Optional[ResponseReader]"  # of the response in flight; None while idle

    def usable(self) -> bool:
        """Still open, and nothing arrived since it went idle (see :class:`_ReadCheck`)."""

    def close(self) -> None: ...


C = TypeVar("C", bound=_Pooled)


class _Pool(Generic[C]):
    """Idle keep-alive connections per (scheme, host, port, proxy), for one thread: the
    asyncio transport keeps one per event loop. :class:`_SharedPool` is the one threads share."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._idle: Dict[_PoolKey, List[C]] = {}
        self._closed = False

    def take(self, key: _PoolKey) -> Optional[C]:
        """An idle connection to ``key`` that is still usable (the others are closed), or None."""
        while True:
            conn = self._pop(key)
            if conn is None or conn.usable():
                return conn
            conn.close()

    def release(self, conn: C, reusable: bool) -> None:
        """A response is done with ``conn``: kept for another request if it can carry one
        (and the pool is neither closed nor full), else closed."""
        if not (reusable and self._keep(conn)):
            conn.close()

    def close(self) -> None:
        for conn in self._empty():
            conn.close()

    # The bookkeeping, which _SharedPool does under its lock (never a check or a close: they
    # may block).
    def _pop(self, key: _PoolKey) -> Optional[C]:
        idle = self._idle.get(key)
        return idle.pop() if idle else None

    def _keep(self, conn: C) -> bool:
        idle = self._idle.setdefault(conn.key, [])
        if self._closed or len(idle) >= self._size:
            return False
        conn.reader = None
        idle.append(conn)
        return True

    def _empty(self) -> List[C]:
        self._closed = True
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        return conns


class _SharedPool(_Pool[C]):
    """A pool that threads share (the synchronous transport's)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._lock = threading.Lock()

    def _pop(self, key: _PoolKey) -> Optional[C]:
        with self._lock:
            return super()._pop(key)

    def _keep(self, conn: C) -> bool:
        with self._lock:
            return super()._keep(conn)

    def _empty(self) -> List[C]:
        with self._lock:
            return super()._empty()


class _ReadCheck:
    """Whether a socket has nothing to read, asked of an idle connection before each reuse
    (the poll object, with the socket registered, is made once). An idle connection must
    have nothing to read: readable means the server closed it (or sent bytes nobody asked
    for); either way it cannot carry another request."""

    __slots__ = ("_sock", "_poller", "_broken")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._poller: Any = None
        self._broken = False  # the socket could not be registered: it is closed
        if hasattr(select, "poll"):
            try:
                self._poller = select.poll()
                self._poller.register(sock, select.POLLIN)
            except (OSError, ValueError):
                self._broken = True

    def nothing_to_read(self) -> bool:
        if self._broken:
            return False
        try:
            if self._poller is not None:
                return not self._poller.poll(0)
            return not select.select([self._sock], [], [], 0)[0]
        except (OSError, ValueError):
            return False


# -- routes and proxies -------------------------------------------------------------------------------
class _Proxy:
    __slots__ = ("host", "port", "authorization", "label")

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme.lower() != "http":
            raise ValueError("only http:// proxies are supported (got a %s:// proxy)" % parts.scheme)
        if not parts.hostname:
            raise ValueError("the proxy URL has no host")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authorization: Optional[str] = None
        if parts.username is not None:
            import base64

            userinfo = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
            self.authorization = "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")
        self.label = "http://%s:%d" % (self.host, self.port)  # never the credentials


class _Route:
    """Where the bytes of requests to one origin go: directly or through a proxy."""

    __slots__ = ("scheme", "host", "port", "proxy", "key", "where")

    def __init__(self, scheme: str, host: str, port: int, proxy: Optional[_Proxy]) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy
        self.key: _PoolKey = (scheme, host, port, proxy.label if proxy is not None else None)
        origin = "%s://%s:%d" % (scheme, host, port)
        self.where = origin if proxy is None else "%s via proxy %s" % (origin, proxy.label)


# -- routing and making connections -------------------------------------------------------------------
class _Connector:
    """URL -> (route, request-target) -> connection object; safe across threads.

    ``proxies``: None reads the environment once, at the first request; a dict is used as given.
    ``ssl_context`` / ``ca_bundle``: how TLS certificates are checked (default:
    the system store, always verified).
    """

    def __init__(
        self,
        ssl_context: "Optional[ssl.SSLContext]",
        ca_bundle: Optional[str],
        proxies: Optional[Dict[str, str]],
    ) -> None:
        if ssl_context is None and ca_bundle is not None:
            import ssl

            # Made now so that a wrong path fails here, not on the first request.
            ssl_context = ssl.create_default_context(cafile=ca_bundle)
        self._ssl_context = ssl_context
        self._proxies: Optional[Dict[str, str]] = None if proxies is None else _proxy_table(proxies)
        self._targets: Dict[str, Tuple[_Route, str]] = {}
        self._lock = threading.Lock()

    # -- lazily made pieces ------------------------------------------------------------------
    @property
    def proxies(self) -> Dict[str, str]:
        """The proxy table (``{"https": url, "no": "localhost"}``): as given, or read from the
        environment the first time it is needed, as ``urllib`` reads it."""
        proxies = self._proxies
        if proxies is None:
            import urllib.request

            found = _proxy_table(urllib.request.getproxies_environment())
            with self._lock:
                if self._proxies is None:
                    self._proxies = found
                proxies = self._proxies
        return proxies

    def _ssl(self) -> "ssl.SSLContext":
        context = self._ssl_context
        if context is None:
            with self._lock:
                if self._ssl_context is None:
                    import ssl

                    # Verified against the system store, hostname checked.
                    self._ssl_context = ssl.create_default_context()
                context = self._ssl_context
        return context

    # -- routing -----------------------------------------------------------------------------
    def route(self, url: str) -> Tuple[_Route, str]:
        """(route, request-target) for an absolute URL; remembered for the same URL."""
        found = self._targets.get(url)
        if found is None:
            found = self._find_route(url)
            with self._lock:
                if len(self._targets) >= 512:  # bounded: URLs with ids in them vary
                    self._targets.clear()
                self._targets[url] = found
        return found

    def _find_route(self, url: str) -> Tuple[_Route, str]:
        scheme, rest = url.split("://", 1) if "://" in url else ("", url)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("the URL must start with http:// or https:// (got %r)" % redact_url(url))
        slash = [i for i in (rest.find("/"), rest.find("?")) if i >= 0]
        cut = min(slash) if slash else len(rest)
        netloc, path = rest[:cut], rest[cut:].split("#", 1)[0]
        if not path.startswith("/"):
            path = "/" + path
        route = self._new_route(scheme, netloc)
        if route.proxy is not None and scheme == "http":
            # RFC 9112, 3.2.2: a request to a proxy uses the absolute-form target.
            return route, "http://%s%s" % (netloc.rpartition("@")[2], path)
        return route, path

    def _new_route(self, scheme: str, netloc: str) -> _Route:
        parts = urlsplit(scheme + "://" + netloc)
        host = parts.hostname
        if not host:
            raise ValueError("the URL has no host (got %r)" % netloc)
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ValueError("the URL has an invalid port (got %r)" % netloc) from exc
        proxy_url = self.proxies.get(scheme) or self.proxies.get("all")
        proxy = None
        if proxy_url and not self._bypass(host, port):
            proxy = _Proxy(proxy_url)
        return _Route(scheme, host, port, proxy)

    def _bypass(self, host: str, port: int) -> bool:
        if "no" not in self.proxies:
            return False
        import urllib.request

        hostport = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        # Documented in urllib.request's source, not in its typing stubs.
        bypass: Callable[[str, Dict[str, str]], Any] = getattr(  # noqa: B009
            urllib.request, "proxy_bypass_environment"
        )
        return bool(bypass(hostport, self.proxies))

    def new_connection(self, route: _Route, timeout: float) -> "Connection":
        """A connection object; nothing is opened until it is used."""
        from ._socket_connection import Connection  # with the first request

        return Connection(route, self._ssl() if route.scheme == "https" else None, timeout)


def _proxy_table(proxies: Dict[str, str]) -> Dict[str, str]:
    return {k.lower(): v for k, v in proxies.items() if v}
