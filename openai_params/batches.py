"""``client.batches``: the provider's Batch API (create, retrieve, list, cancel).

    uploaded = client.files.create("requests.jsonl", purpose="batch")
    batch = client.batches.create(uploaded.body["id"])        # endpoint /v1/chat/completions, 24h
    batch = client.batches.retrieve(batch.body["id"])
    batch.body["status"]   # validating -> in_progress -> finalizing -> completed (or failed, expired, ...)

Every call returns an :class:`~.results.OpenAIResult` whose ``body`` is the
batch object (``id``, ``status``, ``request_counts``, ``output_file_id``,
``error_file_id``, ...). The files come and go through ``client.files``; the
JSONL formats, and a command that does the whole round trip
(``python -m openai_params batch --batch-api``), are in docs/scale.md.
"""

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ._chat_rules import check_metadata
from ._checks import check_int, check_str, warn_unknown
from .request import path_segment
from .results import OpenAIResult

if TYPE_CHECKING:
    from .client import OpenAI
    from .parameters import OpenAIParameters

__all__ = ["Batches", "BATCH_ENDPOINTS"]

#: ``endpoint`` values the OpenAI API documents (CreateBatchRequest); others warn
BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)


class Batches:
    """``client.batches`` (see the module docstring)."""

    def __init__(self, client: "OpenAI") -> None:
        self._client = client

    def create(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        completion_window: str = "24h",
        metadata: Optional[Mapping[str, str]] = None,
        parameters: "Optional[OpenAIParameters]" = None,
    ) -> OpenAIResult:
        """Start a batch over an uploaded JSONL file (``purpose="batch"``)."""
        check_str("input_file_id", input_file_id, non_empty=True)
        check_str("endpoint", endpoint, non_empty=True)
        if endpoint not in BATCH_ENDPOINTS:
            warn_unknown("endpoint", endpoint, BATCH_ENDPOINTS)
        check_str("completion_window", completion_window, non_empty=True)
        check_metadata("metadata", metadata)
        body: Dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self._client._call_api("POST", "/batches", OpenAIResult, parameters, body=body)

    def retrieve(self, batch_id: str, parameters: "Optional[OpenAIParameters]" = None) -> OpenAIResult:
        return self._client._call_api("GET", _batch_path(batch_id), OpenAIResult, parameters)

    def list(
        self,
        *,
        after: Optional[str] = None,
        limit: Optional[int] = None,
        parameters: "Optional[OpenAIParameters]" = None,
    ) -> OpenAIResult:
        """The batches (``items``), newest first; ``limit`` 1 to 100, ``after`` a batch id."""
        check_str("after", after, optional=True)
        check_int("limit", limit, 1, 100, optional=True)
        query = {"after": after, "limit": limit}
        return self._client._call_api("GET", "/batches", OpenAIResult, parameters, query=query)

    def cancel(self, batch_id: str, parameters: "Optional[OpenAIParameters]" = None) -> OpenAIResult:
        """Ask to stop a batch: it goes to ``cancelling``, then ``cancelled`` (with what was done
        so far in its output file)."""
        return self._client._call_api("POST", _batch_path(batch_id) + "/cancel", OpenAIResult, parameters)


def _batch_path(batch_id: str) -> str:
    return "/batches/" + path_segment("batch_id", batch_id)
