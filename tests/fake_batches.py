"""The Files and Batch API for the fake server: uploads, batches that move, output and error files.

    api = FakeBatchAPI()
    server = FakeServer(default=api.reply)
    api.outcomes.append("expired")        # the next batch created expires (default: completed)

Files: ``POST /v1/files`` (multipart/form-data, parsed here: ``purpose`` and
``file``), ``GET /v1/files``, ``GET/DELETE /v1/files/{id}``,
``GET /v1/files/{id}/content``. Batches: ``POST /v1/batches``, ``GET
/v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``.

A batch moves one step each time it is retrieved, without any clock:
``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed``. The
outcome decides the rest:

* ``"completed"``: every request answered in the output file (the answer to a
  chat request echoes its last user message), except a request whose last user
  message contains ``[fail]``, which goes to the error file;
* ``"failed"``: validation fails (``errors`` names line 1), no files;
* ``"expired"``: after ``in_progress`` it expires; the first half of the
  requests are in the output file, the rest in the error file as
  ``batch_expired``.

Output lines are written in reverse input order (the Batch API promises no order).
"""

import json
import re
import threading
from typing import Any, Dict, List, Optional, Tuple

from fake_ratelimit import completion_for
from fakeserver import RecordedRequest, Reply

__all__ = ["FakeBatchAPI", "parse_multipart"]

_STEPS = {"validating": "in_progress", "in_progress": "finalizing", "finalizing": "completed"}


def parse_multipart(content_type: str, body: bytes) -> Dict[str, Tuple[Optional[str], bytes]]:
    """name -> (filename or None, content), from a multipart/form-data body (strictly: a malformed
    body raises ValueError)."""
    marker = "boundary="
    if not content_type.startswith("multipart/form-data") or marker not in content_type:
        raise ValueError("not multipart/form-data: %r" % content_type)
    boundary = content_type.split(marker, 1)[1].strip().encode("ascii")
    dash = b"--" + boundary
    if not body.startswith(dash + b"\r\n") or not body.endswith(dash + b"--\r\n"):
        raise ValueError("the body does not start and end with the boundary")
    fields: Dict[str, Tuple[Optional[str], bytes]] = {}
    middle = body[len(dash) + 2 : -(len(dash) + 4)]
    if not middle.endswith(b"\r\n"):
        raise ValueError("the last part is not ended by CRLF")
    for chunk in middle[:-2].split(b"\r\n" + dash + b"\r\n"):
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part without an empty line after its head")
        disposition = [
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-disposition:")
        ]
        # Quoted values hold no '"' (a client percent-encodes it), so a quote ends them.
        name = re.search(rb';\s*name="([^"]*)"', disposition[0])
        filename = re.search(rb';\s*filename="([^"]*)"', disposition[0])
        if name is None:
            raise ValueError("a part without a name")
        fields[name.group(1).decode("utf-8")] = (
            filename.group(1).decode("utf-8") if filename is not None else None,
            content,
        )
    return fields


class FakeBatchAPI:
    """State and answers of the fake Files and Batch API (see the module docstring)."""

    def __init__(self) -> None:
        self.files: Dict[str, Dict[str, Any]] = {}
        self.contents: Dict[str, bytes] = {}
        self.batches: Dict[str, Dict[str, Any]] = {}
        self.outcomes: List[str] = []
        self._outcome: Dict[str, str] = {}
        self._lock = threading.Lock()
        self._count = 0

    def _id(self, prefix: str) -> str:
        self._count += 1
        return "%s-%03d" % (prefix, self._count)

    def add_file(self, content: bytes, purpose: str, filename: str = "data.jsonl") -> Dict[str, Any]:
        file_id = self._id("file")
        record = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": 1700000000 + self._count,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[file_id] = record
        self.contents[file_id] = content
        return record

    def reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            return self._route(request)

    def _route(self, request: RecordedRequest) -> Reply:
        parts = request.path.rstrip("/").split("/")[2:]  # after "/v1"
        method = request.method
        if parts == ["files"] and method == "POST":
            return self._upload(request)
        if parts == ["files"] and method == "GET":
            return _list(sorted(self.files.values(), key=lambda f: f["created_at"], reverse=True))
        if len(parts) >= 2 and parts[0] == "files":
            record = self.files.get(parts[1])
            if record is None:
                return _error(404, "No such File object: %s" % parts[1], "invalid_request_error")
            if len(parts) == 3 and parts[2] == "content" and method == "GET":
                return Reply(
                    200, self.contents[parts[1]], headers={"Content-Type": "application/octet-stream"}
                )
            if method == "DELETE":
                del self.files[parts[1]]
                return Reply(200, json={"id": parts[1], "object": "file", "deleted": True})
            return Reply(200, json=record)
        if parts == ["batches"] and method == "POST":
            return self._create(request.json)
        if parts == ["batches"] and method == "GET":
            return _list(list(reversed(list(self.batches.values()))))
        if len(parts) >= 2 and parts[0] == "batches":
            batch = self.batches.get(parts[1])
            if batch is None:
                return _error(404, "No batch found with id '%s'." % parts[1], "invalid_request_error")
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                if batch["status"] in ("validating", "in_progress", "finalizing"):
                    batch["status"] = "cancelling"
                return Reply(200, json=batch)
            self._advance(batch)
            return Reply(200, json=batch)
        return _error(404, "no route %s %s" % (method, request.path), "invalid_request_error")

    def _upload(self, request: RecordedRequest) -> Reply:
        try:
            fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        except (ValueError, KeyError, IndexError) as exc:
            return _error(400, "bad multipart body: %s" % exc, "invalid_request_error")
        if "file" not in fields or "purpose" not in fields:
            return _error(400, "file and purpose are required", "invalid_request_error")
        filename, content = fields["file"]
        record = self.add_file(content, fields["purpose"][1].decode("utf-8"), filename or "upload")
        return Reply(200, json=record)

    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("input_file_id") not in self.files:
            return _error(400, "input_file_id is not an uploaded file", "invalid_request_error")
        batch_id = self._id("batch")
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body.get("endpoint"),
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": body.get("completion_window"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": 1700000000,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self.batches[batch_id] = batch
        self._outcome[batch_id] = self.outcomes.pop(0) if self.outcomes else "completed"
        return Reply(200, json=batch)

    def _advance(self, batch: Dict[str, Any]) -> None:
        status, outcome = batch["status"], self._outcome[batch["id"]]
        lines = [
            json.loads(line) for line in self.contents[batch["input_file_id"]].splitlines() if line.strip()
        ]
        if status == "cancelling":
            batch["status"] = "cancelled"
        elif status == "validating" and outcome == "failed":
            batch["status"] = "failed"
            batch["errors"] = {
                "object": "list",
                "data": [
                    {"code": "invalid_json_line", "message": "line 1 is not valid", "param": None, "line": 1}
                ],
            }
        elif status == "in_progress" and outcome == "expired":
            batch["status"] = "expired"
            self._finish(batch, lines, done=len(lines) // 2)
        elif status in _STEPS:
            batch["status"] = _STEPS[status]
            if batch["status"] == "completed":
                self._finish(batch, lines, done=len(lines))

    def _finish(self, batch: Dict[str, Any], lines: List[Dict[str, Any]], done: int) -> None:
        output, errors = [], []
        for number, line in enumerate(lines):
            custom_id, body = line.get("custom_id"), line.get("body") or {}
            if number >= done:
                error = {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired.",
                }
                errors.append(
                    {"id": "batch_req_%d" % number, "custom_id": custom_id, "response": None, "error": error}
                )
            elif "[fail]" in json.dumps(body.get("messages")):
                error = {"code": "server_error", "message": "The request failed."}
                errors.append(
                    {"id": "batch_req_%d" % number, "custom_id": custom_id, "response": None, "error": error}
                )
            else:
                response = {
                    "status_code": 200,
                    "request_id": "req_%d" % number,
                    "body": completion_for(body, number),
                }
                output.append(
                    {
                        "id": "batch_req_%d" % number,
                        "custom_id": custom_id,
                        "response": response,
                        "error": None,
                    }
                )
        if output:
            batch["output_file_id"] = self._file_of(output, "batch_output")
        if errors:
            batch["error_file_id"] = self._file_of(errors, "batch_output")
        batch["request_counts"] = {"total": len(lines), "completed": len(output), "failed": len(errors)}

    def _file_of(self, records: List[Dict[str, Any]], purpose: str) -> str:
        content = b"".join(json.dumps(r).encode("utf-8") + b"\n" for r in reversed(records))
        return str(self.add_file(content, purpose, "batch_output.jsonl")["id"])


def _list(items: List[Dict[str, Any]]) -> Reply:
    return Reply(
        200,
        json={
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
            "has_more": False,
        },
    )


def _error(status: int, message: str, kind: str) -> Reply:
    return Reply(status, json={"error": {"message": message, "type": kind, "param": None, "code": None}})
