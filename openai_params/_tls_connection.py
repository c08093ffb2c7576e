"""An HTTPS connection whose TLS handshake a cancel can interrupt. Part of the transport.

``http.client.HTTPSConnection.connect`` wraps the TCP socket and shakes hands in one
call. While that handshake waits for the server, the connection's ``sock`` still
names the TCP socket, whose descriptor the TLS socket has already taken over: a
cancel that shuts ``sock`` (see :mod:`._cancel`) finds nothing to shut, and the call
waits for its connect timeout. Here the TLS socket is made first, set as ``sock``,
and only then shakes hands, so the cancel reaches it.
"""

import http.client
import ssl


class HTTPSConnection(http.client.HTTPSConnection):
    """``http.client.HTTPSConnection`` with ``sock`` set before the TLS handshake.

    ``server_hostname``: the name the certificate is checked against, the origin's host
    (also through a proxy tunnel, where ``host`` is the proxy's).
    """

    def __init__(
        self, host: str, port: int, *, timeout: float, context: ssl.SSLContext, server_hostname: str
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.tls_context = context
        self.server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP, then the proxy's CONNECT if tunnelling
        tls = self.tls_context.wrap_socket(
            self.sock, server_hostname=self.server_hostname, do_handshake_on_connect=False
        )
        self.sock = tls
        tls.do_handshake()
