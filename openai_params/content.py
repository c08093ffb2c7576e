"""Content parts: the images and files a user message carries beside its text.

``OpenAIMessage.add_image_url`` / ``add_image`` / ``add_file`` / ``add_file_id``
build their parts here. The shapes are the API's (the OpenAPI schema's
``ChatCompletionRequestUserMessageContentPart``)::

    {"type": "text", "text": "..."}
    {"type": "image_url", "image_url": {"url": "https://... or data:image/png;base64,...",
                                        "detail": "auto" | "low" | "high"}}
    {"type": "file", "file": {"filename": "...", "file_data": "data:application/pdf;base64,..."}}
    {"type": "file", "file": {"file_id": "file-abc"}}

A local image or file is sent inline, base64 in a ``data:`` URL. Its size is
checked against the limit the API documents *before* it is read whole (a path
is ``stat``-ed first), and an image's MIME type comes from its first bytes,
never from its name: a JPEG named ``photo.png`` is sent as ``image/jpeg``.
"""

import os
from typing import Any, Dict, List, Optional, Tuple, Union

from ._checks import check_str, fail, wrong_type

__all__ = [
    "IMAGE_DETAILS",
    "IMAGE_MAX_BYTES",
    "FILE_MAX_BYTES",
    "IMAGE_SIGNATURES",
    "image_type",
    "image_url_part",
    "image_part",
    "file_part",
    "file_id_part",
    "as_parts",
]

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

# ChatCompletionRequestMessageContentPartImage.image_url.detail: enum auto, low, high.
IMAGE_DETAILS = ("auto", "low", "high")

# "Image inputs: up to 20 MB per image" (the vision guide); files uploaded to /files
# "can be up to 512 MB" (the files endpoint in the reference schema). Bytes, with
# MB = 1024 * 1024.
MB = 1024 * 1024
IMAGE_MAX_BYTES = 20 * MB
FILE_MAX_BYTES = 512 * MB

# The image formats the vision guide lists (PNG, JPEG, WEBP, non-animated GIF), told
# apart by their magic bytes: each is a list of (offset, bytes) that must all match.
Signatures = Tuple[Tuple[str, Tuple[Tuple[int, bytes], ...]], ...]
IMAGE_SIGNATURES: Signatures = (
    ("image/png", ((0, b"\x89PNG\r\n\x1a\n"),)),  # PNG spec, 5.2 "PNG signature"
    ("image/jpeg", ((0, b"\xff\xd8\xff"),)),  # SOI marker, then the first segment's marker
    ("image/gif", ((0, b"GIF87a"),)),
    ("image/gif", ((0, b"GIF89a"),)),
    ("image/webp", ((0, b"RIFF"), (8, b"WEBP"))),  # RIFF container, form type WEBP (RFC 9649)
)
_IMAGE_NAMES = "PNG, JPEG, GIF or WebP"

# A file's MIME type, by magic bytes first, then by its name (mimetypes).
_FILE_SIGNATURES: Signatures = (("application/pdf", ((0, b"%PDF-"),)),)


def _sniff(data: bytes, signatures: Signatures) -> Optional[str]:
    """The MIME type of the first signature all of whose magic bytes ``data`` has, else None."""
    for mime, signature in signatures:
        if all(data[offset : offset + len(magic)] == magic for offset, magic in signature):
            return mime
    return None


def image_type(data: bytes) -> Optional[str]:
    """The MIME type of an image from its first bytes (PNG, JPEG, GIF, WebP), else None."""
    return _sniff(data, IMAGE_SIGNATURES)


def _size_text(size: int) -> str:
    return "%.1f MB (%d bytes)" % (size / MB, size)


def _read(field: str, source: Any, limit: int, what: str) -> Tuple[bytes, Optional[str]]:
    """The bytes of ``source`` (a path or bytes) and the file's name, refusing more than ``limit``.

    A path's size is read with ``os.stat`` first, so a 3 GB file is refused without being
    read; the read itself stops one byte past the limit, in case the file grew meanwhile.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > limit:
            raise ValueError(
                "%s: the data is %s; the API takes %s up to %s"
                % (field, _size_text(len(data)), what, _size_text(limit))
            )
        return data, None
    if not isinstance(source, (str, os.PathLike)):
        wrong_type(field, "a file path or bytes", source)
    path = os.fspath(source)
    if not isinstance(path, str):  # a bytes path: decode the way the OS would
        path = os.fsdecode(path)
    size = os.stat(path).st_size
    if size > limit:
        raise ValueError(
            "%s: %s is %s; the API takes %s up to %s"
            % (field, path, _size_text(size), what, _size_text(limit))
        )
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError("%s: %s grew past %s while it was read" % (field, path, _size_text(limit)))
    return data, os.path.basename(path)


def _data_url(mime: str, data: bytes) -> str:
    import base64

    return "data:%s;base64,%s" % (mime, base64.b64encode(data).decode("ascii"))


def image_url_part(url: str, detail: Optional[str] = None) -> Dict[str, Any]:
    """``{"type": "image_url", "image_url": {"url": url, "detail": detail}}`` (detail when given)."""
    check_str("image url", url, non_empty=True)
    image: Dict[str, Any] = {"url": url}
    if detail is not None:
        if detail not in IMAGE_DETAILS:
            fail("detail", "one of 'auto', 'low', 'high' (or None to leave it out)", detail)
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def image_part(source: PathOrBytes, detail: Optional[str] = None) -> Dict[str, Any]:
    """An ``image_url`` part holding a local image as a ``data:`` URL of its real MIME type."""
    if detail is not None and detail not in IMAGE_DETAILS:
        fail("detail", "one of 'auto', 'low', 'high' (or None to leave it out)", detail)
    data, name = _read("image", source, IMAGE_MAX_BYTES, "images")
    mime = image_type(data)
    if mime is None:
        raise ValueError(
            "image: %s is not a %s image (it starts with %r)"
            % (name or "the data", _IMAGE_NAMES, bytes(data[:12]))
        )
    return image_url_part(_data_url(mime, data), detail)


def file_part(source: PathOrBytes, filename: Optional[str] = None) -> Dict[str, Any]:
    """A ``file`` part holding a local file (a PDF, say) inline, base64 in a ``data:`` URL.

    ``filename`` defaults to the path's last part; for bytes, give it (the API shows it to
    the model, and without it nothing says what the data is).
    """
    check_str("filename", filename, non_empty=True, optional=True)
    data, name = _read("file", source, FILE_MAX_BYTES, "files")
    filename = filename if filename is not None else name
    mime = _sniff(data, _FILE_SIGNATURES)
    if mime is None and filename:
        import mimetypes

        mime = mimetypes.guess_type(filename)[0]
    file: Dict[str, Any] = {}
    if filename:
        file["filename"] = filename
    file["file_data"] = _data_url(mime or "application/octet-stream", data)
    return {"type": "file", "file": file}


def file_id_part(file_id: str) -> Dict[str, Any]:
    """``{"type": "file", "file": {"file_id": file_id}}``: a file uploaded before (``purpose="user_data"``)."""
    check_str("file_id", file_id, non_empty=True)
    return {"type": "file", "file": {"file_id": file_id}}


def as_parts(content: Any) -> List[Any]:
    """A message's content as a new list of parts: a string becomes one text part."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, (list, tuple)):
        return list(content)
    wrong_type("content", "a string or a list of content parts", content)
