"""Filters for listing stored chat completions (``GET /chat/completions``).

A module of its own: it loads with the first listing, not with the client.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Mapping, Optional

from ._chat_rules import check_metadata
from ._checks import check_choice, check_int, check_str
from ._from_dict import kwargs_from_dict
from ._limits import LIST_ORDERS

__all__ = ["OpenAIChatCompletionListParameters"]


@dataclass
class OpenAIChatCompletionListParameters:
    """Filters for listing stored chat completions (``GET /chat/completions``).

    ``after`` is the id of the last completion of the previous page, ``limit``
    how many to return, ``order`` ``"asc"`` or ``"desc"`` by creation time,
    ``metadata`` key/value pairs to match, ``model`` the model that made them.
    ``None`` leaves a filter out (the server's defaults: 20, ``"asc"``).

    >>> OpenAIChatCompletionListParameters(limit=10, metadata={"app": "demo"}).query()
    {'limit': '10', 'metadata[app]': 'demo'}
    """

    after: Optional[str] = None
    limit: Optional[int] = None
    order: Optional[str] = None
    metadata: Optional[Mapping[str, str]] = None
    model: Optional[str] = None

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenAIChatCompletionListParameters:
        """Build from a dict with snake_case or camelCase keys; an unknown key is an error."""
        return cls(**kwargs_from_dict(cls, d))

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` / ``TypeError`` naming the first bad one."""
        check_str("after", self.after, non_empty=True, optional=True)
        check_int("limit", self.limit, 0, optional=True)
        check_choice("order", self.order, LIST_ORDERS, optional=True)
        check_metadata("metadata", self.metadata)
        check_str("model", self.model, non_empty=True, optional=True)

    def query(self) -> Dict[str, str]:
        """The query parameters to send; metadata as ``metadata[key]=value`` (validated again first)."""
        self.validate()
        query: Dict[str, str] = {}
        for f in fields(self):  # a filter is sent when it is not None
            value = getattr(self, f.name)
            if f.name == "metadata" and value is not None:
                query.update(("metadata[%s]" % key, item) for key, item in value.items())
            elif value is not None:
                query[f.name] = str(value)
        return query
