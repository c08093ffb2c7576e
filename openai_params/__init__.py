"""openai_params: a standard-library-only client for OpenAI-compatible Chat Completions APIs.

    from openai_params import OpenAI, OpenAIChatCompletionParameters

    client = OpenAI()                      # OPENAI_API_KEY, OPENAI_BASE_URL from the environment
    params = OpenAIChatCompletionParameters(model="gpt-4o-mini", temperature=0.2)
    result = client.chat.completions.create([{"role": "user", "content": "Hello"}], params)
    print(result.choice.message.content if result.success else result.errors[0])

The modules, top to bottom: parameters (pure) -> client -> transport (the only
one that opens sockets) -> sse (pure) -> stream -> results / errors (pure).
"""

from ._version import __version__
from .client import OpenAI
from .errors import (APIConnectionError, APIResponseValidationError, APIStatusError,
                     APITimeoutError, APIUserAbortError, AuthenticationError, BadRequestError,
                     CallbackError, ConflictError, InternalServerError, NotFoundError,
                     OpenAIError, OpenAIException, PermissionDeniedError, RateLimitError,
                     UnprocessableEntityError)
from .messages import OpenAIMessage, OpenAITool
from .parameters import (OpenAIChatCompletionListParameters, OpenAIChatCompletionParameters,
                         OpenAIChatCompletionsParameters, OpenAIParameters)
from .results import (OpenAIChatCompletionResult, OpenAIChatCompletionStreamResult, OpenAIChoice,
                      OpenAIResult)

__all__ = [
    "__version__",
    "OpenAI",
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
]
