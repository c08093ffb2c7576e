"""Content parts: OpenAIMessage.add_image_url / add_image / add_file / add_file_id, and text.

Every part built here is checked against the reference schema's user message
(``ChatCompletionRequestUserMessage``).
"""

import base64
import json
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest

from openai_params import OpenAIMessage
from openai_params import content as content_module
from openai_params.content import FILE_MAX_BYTES, IMAGE_MAX_BYTES, image_type

SPEC = Path(__file__).resolve().parent / "data" / "openapi" / "openai-chat-completions.openapi.json"
USER_MESSAGE = jsonschema.Draft202012Validator(
    {
        "$ref": "#/components/schemas/ChatCompletionRequestUserMessage",
        "components": json.loads(SPEC.read_text(encoding="utf-8"))["components"],
    }
)

# The first bytes of each format, as the format's specification writes them.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
GIF87 = b"GIF87a" + b"\x01\x00\x01\x00" + b"\x00" * 20
GIF89 = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
WEBP = b"RIFF" + (28).to_bytes(4, "little") + b"WEBPVP8 " + b"\x00" * 20
IMAGES = [
    (PNG, "image/png"),
    (JPEG, "image/jpeg"),
    (GIF87, "image/gif"),
    (GIF89, "image/gif"),
    (WEBP, "image/webp"),
]
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _valid(message: OpenAIMessage) -> None:
    errors = [
        "%s: %s" % (list(e.absolute_path), e.message) for e in USER_MESSAGE.iter_errors(message.to_dict())
    ]
    assert errors == []


def _decoded(url: str) -> bytes:
    head, _, data = url.partition(",")
    assert head.endswith(";base64")
    return base64.b64decode(data, validate=True)


# --- add_image_url ------------------------------------------------------------------------------


def test_add_image_url_turns_text_into_parts_and_chains() -> None:
    message = OpenAIMessage("user", "What is this?")
    same = message.add_image_url("https://example.com/cat.png", detail="low")
    assert same is message
    assert message.content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
    ]
    message.add_image_url("https://example.com/dog.png").add_file_id("file-abc")
    assert [part["type"] for part in message.content] == ["text", "image_url", "image_url", "file"]
    assert message.content[2] == {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}}
    _valid(message)


@pytest.mark.parametrize("detail", ["auto", "low", "high"])
def test_every_detail_the_schema_lists_is_accepted(detail: str) -> None:
    message = OpenAIMessage("user").add_image_url("https://example.com/a.png", detail)
    assert message.content == [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": detail}}
    ]
    _valid(message)


@pytest.mark.parametrize("detail", ["medium", "LOW", "", 1])
def test_another_detail_is_a_value_error_and_changes_nothing(detail: Any) -> None:
    message = OpenAIMessage("user", "Hi")
    with pytest.raises(ValueError, match=r"^detail must be one of 'auto', 'low', 'high' .*\(got "):
        message.add_image_url("https://example.com/a.png", detail)
    with pytest.raises(ValueError, match=r"^detail must be one of"):
        message.add_image(PNG, detail)
    assert message.content == "Hi"


def test_images_and_files_go_in_user_messages_only() -> None:
    message = OpenAIMessage("system", "Be brief.")
    with pytest.raises(
        ValueError, match=r"^images go in a 'user' message \(this message's role is 'system'\)$"
    ):
        message.add_image_url("https://example.com/a.png")
    with pytest.raises(ValueError, match=r"^files go in a 'user' message"):
        OpenAIMessage("assistant", "x").add_file_id("file-1")
    assert message.content == "Be brief."
    # A message being built (no role yet) takes them.
    assert OpenAIMessage().add_image_url("https://example.com/a.png").content is not None


def test_a_list_content_is_copied_not_changed_in_place() -> None:
    parts: List[Dict[str, Any]] = [{"type": "text", "text": "Look"}]
    message = OpenAIMessage("user", parts).add_image_url("https://example.com/a.png")
    assert parts == [{"type": "text", "text": "Look"}]
    assert len(message.content) == 2


# --- add_image ----------------------------------------------------------------------------------


@pytest.mark.parametrize("data, mime", IMAGES, ids=[m + str(i) for i, (_, m) in enumerate(IMAGES)])
def test_add_image_sends_the_real_mime_type_from_the_magic_bytes(
    data: bytes, mime: str, tmp_path: Path
) -> None:
    assert image_type(data) == mime
    from_bytes = OpenAIMessage("user", "What is it?").add_image(data, detail="high")
    part = from_bytes.content[1]
    assert part["image_url"]["detail"] == "high"
    assert part["image_url"]["url"].startswith("data:%s;base64," % mime)
    assert _decoded(part["image_url"]["url"]) == data
    _valid(from_bytes)
    # A path, named as if it were something else: the bytes decide.
    path = tmp_path / "picture.png.txt"
    path.write_bytes(data)
    for given in (path, str(path)):
        from_path = OpenAIMessage("user").add_image(given)
        assert from_path.content == [{"type": "image_url", "image_url": {"url": part["image_url"]["url"]}}]


@pytest.mark.parametrize(
    "data",
    [b"", b"BM\x00\x00", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x89PNG\r\n", b"%PDF-1.4", b"GIF88a"],
    ids=["empty", "bmp", "riff-wave", "short-png", "pdf", "gif88"],
)
def test_anything_else_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(
        ValueError, match=r"^image: the data is not a PNG, JPEG, GIF or WebP image \(it starts with b"
    ):
        OpenAIMessage("user").add_image(data)


def test_an_unknown_image_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_bytes(b"just text")
    with pytest.raises(ValueError, match=r"^image: notes.png is not a PNG, JPEG, GIF or WebP image"):
        OpenAIMessage("user").add_image(path)


def test_a_missing_file_raises_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        OpenAIMessage("user").add_image(tmp_path / "missing.png")
    with pytest.raises(TypeError, match=r"^image must be a file path or bytes \(got 12, an int\)$"):
        OpenAIMessage("user").add_image(12)


def _sparse(path: Path, size: int) -> Path:
    with open(str(path), "wb") as handle:
        handle.truncate(size)  # no data written: the file system stores a hole
    return path


def test_an_image_over_20_mb_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert IMAGE_MAX_BYTES == 20 * 1024 * 1024
    big = _sparse(tmp_path / "big.png", IMAGE_MAX_BYTES + 1)

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(content_module, "open", no_reading, raising=False)
    message = OpenAIMessage("user", "Hi")
    with pytest.raises(
        ValueError,
        match=r"^image: .*big.png is 20.0 MB \(20971521 bytes\); "
        r"the API takes images up to 20.0 MB \(20971520 bytes\)$",
    ):
        message.add_image(big)
    assert message.content == "Hi"


def test_the_image_limit_is_inclusive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(content_module, "IMAGE_MAX_BYTES", len(PNG))
    assert OpenAIMessage("user").add_image(PNG).content
    (tmp_path / "a.png").write_bytes(PNG)
    assert OpenAIMessage("user").add_image(tmp_path / "a.png").content
    with pytest.raises(ValueError, match=r"^image: the data is 0.0 MB \(%d bytes\)" % (len(PNG) + 1)):
        OpenAIMessage("user").add_image(PNG + b"\x00")
    (tmp_path / "b.png").write_bytes(PNG + b"\x00")
    with pytest.raises(ValueError, match=r"b.png is 0.0 MB \(%d bytes\)" % (len(PNG) + 1)):
        OpenAIMessage("user").add_image(tmp_path / "b.png")


# --- add_file / add_file_id ---------------------------------------------------------------------


def test_add_file_sends_a_pdf_inline_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF)
    message = OpenAIMessage("user", "Summarise this.").add_file(path)
    part = message.content[1]
    assert part["type"] == "file"
    assert part["file"]["filename"] == "report.pdf"
    assert part["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert _decoded(part["file"]["file_data"]) == PDF
    assert set(part["file"]) == {"filename", "file_data"}
    _valid(message)


def test_add_file_from_bytes_takes_the_name_given() -> None:
    pdf = OpenAIMessage("user").add_file(PDF, filename="a.pdf").content[0]["file"]
    assert pdf["filename"] == "a.pdf" and pdf["file_data"].startswith("data:application/pdf;base64,")
    text = OpenAIMessage("user").add_file(b"col1,col2\n", filename="table.csv").content[0]["file"]
    assert text["file_data"].startswith("data:text/csv;base64,")
    unnamed = OpenAIMessage("user").add_file(b"\x00\x01").content[0]["file"]
    assert unnamed == {"file_data": "data:application/octet-stream;base64,AAE="}
    with pytest.raises(ValueError, match=r"^filename must be a non-empty string \(got ''\)$"):
        OpenAIMessage("user").add_file(PDF, filename="")


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert FILE_MAX_BYTES == 512 * 1024 * 1024
    big = _sparse(tmp_path / "big.pdf", FILE_MAX_BYTES + 1)
    monkeypatch.setattr(content_module, "open", None, raising=False)  # calling it would fail differently
    with pytest.raises(
        ValueError, match=r"big.pdf is 512.0 MB \(536870913 bytes\); the API takes files up to 512.0 MB"
    ):
        OpenAIMessage("user").add_file(big)


def test_add_file_id() -> None:
    message = OpenAIMessage("user", "Analyse this document").add_file_id("file-abc123")
    assert message.content == [
        {"type": "text", "text": "Analyse this document"},
        {"type": "file", "file": {"file_id": "file-abc123"}},
    ]
    _valid(message)
    with pytest.raises(ValueError, match=r"^file_id must be a non-empty string"):
        message.add_file_id("")


# --- text -----------------------------------------------------------------------------------------

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}


@pytest.mark.parametrize(
    "content, written",
    [
        (None, "new"),
        ("old", "new"),
        ([IMAGE], [{"type": "text", "text": "new"}, IMAGE]),
        ([{"type": "text", "text": "old"}, IMAGE], [{"type": "text", "text": "new"}, IMAGE]),
        (
            [IMAGE, {"type": "text", "text": "a"}, IMAGE, {"type": "text", "text": "b"}],
            [IMAGE, {"type": "text", "text": "new"}, IMAGE],
        ),
    ],
    ids=["none", "string", "no-text-part", "text-part", "two-text-parts"],
)
def test_setting_text_replaces_the_text_and_keeps_the_other_parts(content: Any, written: Any) -> None:
    message = OpenAIMessage("user", content)
    message.text = "new"
    assert message.content == written
    assert message.text == "new"


def test_text_must_be_a_string() -> None:
    with pytest.raises(TypeError, match=r"^text must be a string \(got 3, an int\)$"):
        OpenAIMessage("user", "x").text = 3  # type: ignore[assignment]
