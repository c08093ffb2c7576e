"""Reading a response's status line and headers faster than ``http.client`` does.

``http.client`` parses every response head with the ``email`` package, built for
mail messages: on a small keep-alive request that is the largest single cost of
the whole round trip. Response heads are simpler (RFC 9112, section 2.1):

    HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
    field-line   = field-name ":" OWS field-value OWS

so :class:`FastHTTPResponse` reads the field lines itself and keeps everything
else of ``http.client.HTTPResponse`` (status line, chunked decoding, ``read1``).
It is imported with ``http.client``, on the first request, never at package import.
"""

import http.client
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["FastHTTPResponse", "ResponseHeaders"]

# The limits http.client applies, kept the same: a line of at most 64 KiB, 100 fields.
_MAX_LINE = 65536
_MAX_FIELDS = 100


class ResponseHeaders:
    """The header fields of a response, in order; look-ups ignore case.

    Offers the part of ``email.message.Message`` that ``http.client`` and callers
    use: ``get``, ``get_all``, ``items``, ``raw_items``, ``keys``, ``values``,
    ``[name]``, ``in``, ``len`` and iteration over the names.
    """

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: List[Tuple[str, str]]) -> None:
        self._fields = fields
        index: Dict[str, List[str]] = {}
        for name, value in fields:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def get(self, name: str, failobj: Any = None) -> Any:
        found = self._index.get(name.lower())
        return found[0] if found else failobj

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = self._index.get(name.lower())
        return list(found) if found else failobj

    def __getitem__(self, name: str) -> Optional[str]:
        return self.get(name)  # type: ignore[no-any-return]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def items(self) -> List[Tuple[str, str]]:
        return list(self._fields)

    raw_items = items

    def keys(self) -> List[str]:
        return [name for name, _ in self._fields]

    def values(self) -> List[str]:
        return [value for _, value in self._fields]

    def __str__(self) -> str:
        return "".join("%s: %s\r\n" % field for field in self._fields) + "\r\n"


def read_fields(fp: Any) -> ResponseHeaders:
    """Read field lines up to the empty line that ends the head."""
    fields: List[Tuple[str, str]] = []
    readline = fp.readline
    while True:
        line = readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            break
        if len(fields) >= _MAX_FIELDS:
            raise http.client.HTTPException("got more than %d headers" % _MAX_FIELDS)
        # Header bytes are ISO-8859-1 to http.client too (RFC 9110, 5.5: obs-text).
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and fields:
            # obs-fold (RFC 9112, 5.2): a continuation of the previous field's value.
            name, value = fields[-1]
            fields[-1] = (name, value + " " + text.strip())
            continue
        name, colon, value = text.partition(":")
        if not colon:
            continue  # not a field line: ignored, as the email parser does
        fields.append((name.strip(), value.strip(" \t\r\n")))
    return ResponseHeaders(fields)


class FastHTTPResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` with :func:`read_fields` in place of the email parser.

    ``begin`` follows http.client's own steps: skip ``100 Continue`` heads, read
    the status, then decide chunked / length / connection-close from the fields.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            read_fields(self.fp)  # the 100 response's own head, skipped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_fields(self.fp)

        transfer_encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer_encoding) and transfer_encoding.lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()

        # RFC 9112, 6.3: Content-Length is ignored when the body is chunked.
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if (status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
                or 100 <= status < 200 or self._method == "HEAD"):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # no length and no chunks: the end is the close
