"""openai_params: a standard-library-only client for OpenAI-compatible Chat Completions APIs.

    from openai_params import OpenAI, OpenAIChatCompletionParameters

    client = OpenAI()                      # OPENAI_API_KEY, OPENAI_BASE_URL from the environment
    params = OpenAIChatCompletionParameters(model="gpt-4o-mini", temperature=0.2)
    result = client.chat.completions.create([{"role": "user", "content": "Hello"}], params)
    print(result.choice.message.content if result.success else result.errors[0])

The modules, top to bottom: parameters (pure) -> client -> transport (the only
one that opens sockets) -> sse (pure) -> stream -> results / errors (pure).
"""

from typing import TYPE_CHECKING, Any, List

from ._version import __version__

# Public name -> the module that defines it. The modules load on first use
# (PEP 562), so ``import openai_params`` costs almost nothing and the network
# modules (socket, ssl) load only when a request is sent.
_WHERE = {
    "OpenAI": "client",
    "AsyncOpenAI": "async_client",
    "OpenAIParameters": "parameters",
    "OpenAIChatCompletionParameters": "parameters",
    "OpenAIChatCompletionsParameters": "parameters",
    "OpenAIChatCompletionListParameters": "list_parameters",
    "OpenAIResult": "results",
    "OpenAIChatCompletionResult": "results",
    "OpenAIChatCompletionStreamResult": "results",
    "OpenAIChoice": "results",
    "OpenAIMessage": "messages",
    "OpenAITool": "messages",
    "OpenAIChatHelper": "chathelper",
    "OpenAIError": "errors",
    "OpenAIException": "errors",
    "APIConnectionError": "errors",
    "APITimeoutError": "errors",
    "APIStatusError": "errors",
    "APIResponseValidationError": "errors",
    "APIUserAbortError": "errors",
    "CallbackError": "errors",
    "BadRequestError": "errors",
    "AuthenticationError": "errors",
    "PermissionDeniedError": "errors",
    "NotFoundError": "errors",
    "ConflictError": "errors",
    "UnprocessableEntityError": "errors",
    "RateLimitError": "errors",
    "InternalServerError": "errors",
    "InvalidOutputError": "errors",
    "LengthFinishReasonError": "errors",
    "ContentFilterFinishReasonError": "errors",
    "MockTransport": "_mock",
    "json_schema": "schema",
    "from_json": "schema",
}

if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from ._mock import MockTransport
    from .async_client import AsyncOpenAI
    from .chathelper import OpenAIChatHelper
    from .client import OpenAI
    from .errors import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        APIUserAbortError,
        AuthenticationError,
        BadRequestError,
        CallbackError,
        ConflictError,
        ContentFilterFinishReasonError,
        InternalServerError,
        InvalidOutputError,
        LengthFinishReasonError,
        NotFoundError,
        OpenAIError,
        OpenAIException,
        PermissionDeniedError,
        RateLimitError,
        UnprocessableEntityError,
    )
    from .list_parameters import OpenAIChatCompletionListParameters
    from .messages import OpenAIMessage, OpenAITool
    from .parameters import (
        OpenAIChatCompletionParameters,
        OpenAIChatCompletionsParameters,
        OpenAIParameters,
    )
    from .results import (
        OpenAIChatCompletionResult,
        OpenAIChatCompletionStreamResult,
        OpenAIChoice,
        OpenAIResult,
    )
    from .schema import from_json, json_schema


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    from importlib import import_module

    value = getattr(import_module("." + module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "__version__",
    "OpenAI",
    "AsyncOpenAI",
    "OpenAIParameters",
    "OpenAIChatCompletionParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIChatCompletionListParameters",
    "OpenAIResult",
    "OpenAIChatCompletionResult",
    "OpenAIChatCompletionStreamResult",
    "OpenAIChoice",
    "OpenAIMessage",
    "OpenAITool",
    "OpenAIChatHelper",
    "OpenAIError",
    "OpenAIException",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "APIResponseValidationError",
    "APIUserAbortError",
    "CallbackError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "InvalidOutputError",
    "LengthFinishReasonError",
    "ContentFilterFinishReasonError",
    "MockTransport",
    "json_schema",
    "from_json",
]
