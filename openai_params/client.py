"""The client: joins parameters, transport and results.

    client = OpenAI(base_url="http://127.0.0.1:8080/v1")
    r = client.chat.completions.create([{"role": "user", "content": "Hi"}], model="m")
    print(r.choice.message.content if r.success else r.errors[0])

Configuration falls back to the environment: ``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``.
"""

from __future__ import annotations  # unevaluated: some names are imported for type checkers only

import dataclasses
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from ._chat_rules import check_metadata
from ._checks import (
    check_choice,
    check_header_value,
    check_headers,
    check_int,
    check_str,
    check_timeout,
    is_mapping,
    wrong_type,
)
from ._redact import redact, redact_url
from .errors import OpenAIException
from .messages import validate_messages
from .parameters import CALLBACKS, OpenAIChatCompletionParameters, OpenAIParameters
from .request import build_headers, build_request, build_url, check_base_url, path_segment, request_type
from .results import OpenAIChatCompletionResult, OpenAIResult, read_result

if TYPE_CHECKING:
    import ssl
    import threading

    # Imported where they are used: the HTTP layer, the transport, the workers and the
    # streaming code load when a client is made, not with this module
    # (tests/test_import_cost.py).
    from ._http import HTTPRequest, HTTPResponse
    from .background import CallHandle
    from .chathelper import OpenAIChatHelper
    from .fanout import FanOut
    from .list_parameters import OpenAIChatCompletionListParameters
    from .outputs import OutputReader
    from .pacing import PacingPolicy
    from .profiles import Applied, Profile, ProfileLike
    from .providers import Endpoint
    from .steps import Step
    from .stream import ChatCompletionStream
    from .transport import TransportLike

    # Type aliases for annotations only (made at run time, they would cost the import more
    # than the rest of this module's definitions).
    R = TypeVar("R", bound=OpenAIResult)
    ParamsLike = Union[OpenAIChatCompletionParameters, Mapping[str, Any], None]
    T = TypeVar("T")
    #: a call described as steps: yields each request to send (or another step, see steps.py),
    #: is given what came of it (ChatCompletions._completion)
    Steps = Generator[Union[HTTPRequest, Step], Any, OpenAIChatCompletionResult]

__all__ = ["OpenAI"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAI:
    """A client for an OpenAI-compatible API.

    ``timeout`` (seconds) bounds the connect and every wait for bytes, and in a
    stream the wait for the next data event; ``max_retries`` is how many times a
    failed attempt is repeated (see docs/transport.md). Both can be set per call.

    ``profile`` adapts each chat request to what the server honours (a name such as
    ``"llama.cpp"``, a dict of rules, see docs/providers.md); without it a known host in
    ``base_url`` picks its own, and any other server gets ``"generic"`` (nothing changed).
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        organization: Optional[str] = None,
        project: Optional[str] = None,
        timeout: float = 600.0,
        max_retries: int = 2,
        default_headers: Optional[Mapping[str, Optional[str]]] = None,
        *,
        ssl_context: Optional[ssl.SSLContext] = None,
        ca_bundle: Optional[str] = None,
        proxies: Optional[Dict[str, str]] = None,
        transport: Optional[TransportLike] = None,
        max_workers: int = 8,
        profile: ProfileLike = None,
        provider: Optional[str] = None,
        providers: Union[str, os.PathLike[str], Mapping[str, Any], None] = None,
    ) -> None:
        from .providers import open_providers  # with the first client, not with the import

        # Read once, here: None when there is no provider configuration at all, and then
        # model names are sent as they are (docs/providers.md).
        self._providers = open_providers(providers, provider, os.environ)
        self.provider = provider
        self._key_header = "Authorization"
        self._profile_given: ProfileLike = None
        self._warned: Set[str] = set()  # the profile's left-out fields already warned about
        if provider is not None and self._providers is not None:
            # The provider's own variables only: OPENAI_API_KEY must never reach another host.
            own = self._providers.endpoint(
                provider,
                os.environ,
                api_key=api_key,
                base_url=base_url,
                organization=organization,
                project=project,
            )
            self.api_key, self.organization, self.project = own.api_key, own.organization, own.project
            self._key_header = own.key_header
            self.base_url = own.base_url  # (picks the profile of a known host)
            if profile is None:
                profile = own.profile
        else:
            self.api_key = _header_value(*_setting("api_key", api_key, "OPENAI_API_KEY"), secret=True)
            self.organization = _header_value(*_setting("organization", organization, "OPENAI_ORG_ID"))
            self.project = _header_value(*_setting("project", project, "OPENAI_PROJECT_ID"))
            field, url = _setting("base_url", base_url, "OPENAI_BASE_URL")
            if url is None or url == "":
                url = DEFAULT_BASE_URL
            check_base_url(field, url)  # named after where it came from: OPENAI_BASE_URL or base_url
            self.base_url = url  # (picks the profile of a known host)
        if profile is not None:
            self.profile = profile
        self.timeout = check_timeout("timeout", timeout)
        check_int("max_retries", max_retries, 0)
        self.max_retries = max_retries
        check_int("max_workers", max_workers, 1)
        headers = _stripped(default_headers)
        check_headers("default_headers", headers)
        self.default_headers: Dict[str, Optional[str]] = dict(headers or {})
        from .background import Workers
        from .transport import Transport

        if transport is not None and not all(
            callable(getattr(transport, method, None)) for method in ("send", "close")
        ):
            wrong_type(
                "transport",
                "an object with send() and close(), like a Transport or a MockTransport",
                transport,
            )
        self._transport = transport or Transport(
            ssl_context=ssl_context, ca_bundle=ca_bundle, proxies=proxies
        )
        self._workers = Workers(max_workers, on_drained=self._transport.close)
        self.chat = Chat(self)
        self.models = Models(self)
        from .batches import Batches
        from .files import Files

        self.files = Files(self)
        self.batches = Batches(self)

    @property
    def base_url(self) -> str:
        """The URL every path is joined to, checked whenever it is set (so a URL that the
        transport would refuse deep inside a call is refused on the line that set it)."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        from .profiles import profile_for  # with the first client, not with the import

        check_base_url("base_url", value)
        self._base_url = value.rstrip("/")
        if self._profile_given is None:  # chosen by the host: follows the URL
            self._profile = profile_for(self._base_url, None)

    @property
    def api_key(self) -> Optional[str]:
        """The key sent with every request (None: no key), stripped and checked whenever it is
        set: a value that cannot be a header value is refused on the line that set it, and the
        message never shows it."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: Optional[str]) -> None:
        self._api_key = _header_value("api_key", value, secret=True)

    @property
    def organization(self) -> Optional[str]:
        """Sent as ``OpenAI-Organization``; stripped and checked whenever it is set."""
        return self._organization

    @organization.setter
    def organization(self, value: Optional[str]) -> None:
        self._organization = _header_value("organization", value)

    @property
    def project(self) -> Optional[str]:
        """Sent as ``OpenAI-Project``; stripped and checked whenever it is set."""
        return self._project

    @project.setter
    def project(self, value: Optional[str]) -> None:
        self._project = _header_value("project", value)

    @property
    def profile(self) -> Profile:
        """The :class:`~openai_params.profiles.Profile` chat requests are adapted to; set it
        to a name, a dict of rules or a ``Profile`` (None: chosen by the host again)."""
        return self._profile

    @profile.setter
    def profile(self, value: ProfileLike) -> None:
        from .profiles import profile_for

        self._profile = profile_for(self._base_url, value)
        self._profile_given = value

    def _adapt(
        self, body: Dict[str, Any], extra_body: Optional[Mapping[str, Any]], profile: Profile
    ) -> Tuple[Dict[str, Any], List[Applied]]:
        """``body`` adapted to ``profile`` (the client's, or that of the provider a model string
        named): one warning per left-out field, one DEBUG line.

        The fields of ``extra_body`` are the way around a profile: sent as given, after it.
        """
        if profile.is_generic:  # the common case costs this one test
            return body, []
        from .profiles import adapt

        if extra_body:
            body = {key: value for key, value in body.items() if key not in extra_body}
        body, applied = adapt(profile, body)
        if extra_body:
            body.update(extra_body)
        if applied:
            _report(profile, applied, self._warned)
        return body, applied

    def __repr__(self) -> str:
        key = redact(self.api_key) if self.api_key else None
        return "OpenAI(base_url=%r, api_key=%r)" % (redact_url(self.base_url), key)

    def __enter__(self) -> OpenAI:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Refuse new calls; background calls already accepted run to their end, then the
        connections close (at once when none is left). See docs/streaming.md."""
        self._workers.close()

    # -- the pieces every resource uses ---------------------------------------------------------
    def build_request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        options: Optional[OpenAIParameters] = None,
        endpoint: Optional[Endpoint] = None,
    ) -> HTTPRequest:
        """The exact HTTP request a call would send (pure; nothing is sent).

        ``endpoint``: another provider's settings, for a model string that named it
        (:meth:`_route`); the client's ``default_headers`` stay with its own server, since
        they may hold its credentials.
        """
        extra_query = query
        extra_headers = None
        if options is not None:
            if options.extra_query:
                extra_query = {**(query or {}), **options.extra_query}
            extra_headers = options.extra_headers
        if endpoint is None:  # this client's own server, with its settings as they are now
            base_url, api_key, key_header = self._base_url, self._api_key, self._key_header
            organization, project = self._organization, self._project
            default_headers: Optional[Mapping[str, Optional[str]]] = self.default_headers
        else:
            base_url, api_key, key_header = endpoint.base_url, endpoint.api_key, endpoint.key_header
            organization, project = endpoint.organization, endpoint.project
            default_headers = None
        headers = build_headers(
            api_key=api_key,
            organization=organization,
            project=project,
            default_headers=default_headers,
            extra_headers=extra_headers,
            has_body=body is not None,
            key_header=key_header,
        )
        return build_request(method, build_url(base_url, path, extra_query), headers, body)

    def _route(self, model: Any) -> Tuple[Optional[Endpoint], Any]:
        """Where a model string goes: ``(None, model)`` for this client's own server, else the
        endpoint of the provider it names (``provider:model`` or an alias) and the model id."""
        if self._providers is None or not isinstance(model, str):
            return None, model
        name, model_id = self._providers.resolve(model)
        if name is None or name == self.provider:
            return None, model_id
        return self._providers.route(name, os.environ, model, self.provider), model_id

    def _limits(self, options: Optional[OpenAIParameters]) -> Tuple[float, int]:
        timeout = self.timeout
        retries = self.max_retries
        if options is not None:
            if options.timeout:
                timeout = float(options.timeout)
            if options.max_retries is not None:
                retries = options.max_retries
        return timeout, retries

    def _send(
        self,
        request: HTTPRequest,
        options: Optional[OpenAIParameters],
        *,
        stream: bool = False,
        cancel: Optional[threading.Event] = None,
    ) -> HTTPResponse:
        if cancel is None and self._workers.closed:
            # A call made now; a background call (it carries its CancelEvent) was accepted
            # before close() and runs to its end.
            raise RuntimeError("the client is closed: make a new OpenAI() for new calls")
        timeout, retries = self._limits(options)
        return self._transport.send(
            request, timeout=timeout, max_retries=retries, stream=stream, cancel=cancel
        )

    def _call(
        self,
        request: HTTPRequest,
        result_type: Type[R],
        options: Optional[OpenAIParameters] = None,
        cancel: Optional[threading.Event] = None,
    ) -> R:
        """Send and read one non-streamed call; every failure becomes an error result."""
        outcome: Union[HTTPResponse, OpenAIException]
        try:
            outcome = self._send(request, options, cancel=cancel)
        except OpenAIException as exc:
            outcome = exc
        return _call_result(outcome, result_type, options)

    def _call_api(
        self,
        method: str,
        path: str,
        result_type: Type[R],
        parameters: Optional[OpenAIParameters],
        *,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
    ) -> R:
        """One call of a resource (models, files, batches, stored completions): its request
        built (:meth:`build_request`), then sent and read (:meth:`_call`)."""
        request = self.build_request(method, path, body=body, query=query, options=parameters)
        return self._call(request, result_type, parameters)

    def _drive(
        self,
        steps: Generator[Any, Any, T],
        options: Optional[OpenAIParameters],
        cancel: Optional[threading.Event],
    ) -> T:
        """Run a call described as steps: send each request it yields (read as a chat
        completion), run each other step (steps.py), and give it what came of it."""
        try:
            step = next(steps)
            while True:
                if isinstance(step, request_type()):
                    value: Any = self._call(step, OpenAIChatCompletionResult, options, cancel)
                else:
                    value = step.run(self, options, cancel)
                step = steps.send(value)
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            steps.close()  # interrupted: the steps' own cleanup runs now

    def _fan_out(self, fan: FanOut, *, ordered: bool) -> Any:
        """Run a fan-out (``create_many`` / ``iter_many``) on threads: its results in input
        order, or an iterator of ``(index, result)`` as they finish."""
        from .fanout import in_order, run_on_threads

        if self._workers.closed:
            raise RuntimeError("the client is closed: make a new OpenAI() for new calls")
        pairs = run_on_threads(fan)
        return in_order(pairs) if ordered else pairs

    def _background(
        self, start: Callable[[threading.Event], Any], options: OpenAIChatCompletionParameters
    ) -> CallHandle:
        from .background import BackgroundCall, CallHandle

        call = BackgroundCall.for_options(start, options)
        self._workers.submit(call)
        return CallHandle(call, throw=options.throw)


def _call_result(
    outcome: Union[HTTPResponse, OpenAIException], result_type: Type[R], options: Optional[OpenAIParameters]
) -> R:
    """A non-streamed call's result, from its response (read, then closed) or the exception
    that ended it; raised with ``throw=True``. Both clients' calls end here."""
    if isinstance(outcome, OpenAIException):
        result = result_type(errors=[outcome.error])
    else:
        try:
            result = read_result(outcome, result_type)
        finally:
            outcome.close()
    if options is not None and options.throw and not (options.has_callbacks()):
        result.throw()
    return result


def _report(profile: Profile, applied: List[Applied], warned: Set[str]) -> None:
    from ._checks import _stacklevel
    from .profiles import WARNINGS
    from .transport import _logger

    for rule in applied:
        warning = WARNINGS.get(rule.kind)
        if warning is not None and rule.field not in warned:
            warned.add(rule.field)
            import warnings

            warnings.warn(
                warning % {"profile": profile.name, "field": rule.field},
                UserWarning,
                stacklevel=_stacklevel(),
            )
    logger = _logger()
    if logger.isEnabledFor(10):  # logging.DEBUG
        logger.debug("profile %s: %s", profile.name, "; ".join(rule.text for rule in applied))


def _setting(field: str, given: Any, variable: str) -> Tuple[str, Any]:
    """The value given, else the environment variable's, with the name to report it under."""
    if given is not None:
        return field, given
    return variable, os.environ.get(variable)


def _header_value(field: str, value: Any, *, secret: bool = False) -> Optional[str]:
    """A value sent in a header, stripped of surrounding whitespace and checked.

    A key read from a file ends in a newline; whitespace around a field value is
    not part of it anyway (RFC 9110 section 5.5), so it is dropped rather than refused.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
    check_header_value(field, value, secret=secret)
    return str(value)


def _stripped(headers: Any) -> Any:
    """A copy of ``headers`` with each string value stripped, like :func:`_header_value`."""
    if not is_mapping(headers):
        return headers  # None, or a wrong type for check_headers to name
    return {name: value.strip() if isinstance(value, str) else value for name, value in headers.items()}


def _output_reader(params: OpenAIChatCompletionParameters) -> Optional[OutputReader]:
    """How a chat answer is read as the call's types (None: plain JSON), see outputs.py."""
    if params.response_format is None and not params.tools:
        return None
    from .outputs import output_reader  # loaded by the calls that ask for typed outputs

    return output_reader(params)


def _chat_parameters(parameters: ParamsLike, kwargs: Mapping[str, Any]) -> OpenAIChatCompletionParameters:
    """The parameters of a call, from an object, a dict (snake or camelCase) or keyword arguments."""
    if parameters is None:
        return OpenAIChatCompletionParameters.from_dict(kwargs)
    if isinstance(parameters, OpenAIChatCompletionParameters):
        return parameters.replace(**kwargs) if kwargs else parameters
    if is_mapping(parameters):
        return OpenAIChatCompletionParameters.from_dict({**parameters, **kwargs})
    raise TypeError(
        "parameters must be an OpenAIChatCompletionParameters or a dict (got %s)" % type(parameters).__name__
    )


class Chat:
    def __init__(self, client: OpenAI) -> None:
        self._client = client
        self.completions = ChatCompletions(client)

    def create(
        self,
        system_prompt: Union[str, Mapping[str, Any], None] = None,
        parameters: ParamsLike = None,
        **kwargs: Any,
    ) -> OpenAIChatHelper:
        """A conversation (``OpenAIChatHelper``): the system prompt, then the parameters of
        every request; ``kwargs`` are parameter fields or the helper's settings."""
        from .chathelper import OpenAIChatHelper

        return OpenAIChatHelper(self._client, system_prompt, parameters, **kwargs)


class ChatCompletions:
    """``client.chat.completions``: create, stream, and the stored-completions calls."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client
        self.messages = ChatCompletionMessages(client)

    def build_request(self, messages: Any, parameters: ParamsLike = None, **kwargs: Any) -> HTTPRequest:
        """The exact request ``create`` would send, without sending it."""
        params = _chat_parameters(parameters, kwargs)
        return self._request(messages, params, stream=params.stream)[0]

    def _request(
        self, messages: Any, params: OpenAIChatCompletionParameters, *, stream: bool
    ) -> Tuple[HTTPRequest, int, Profile]:
        """The request, adapted to its profile, how many times it is sent (``n`` when the
        profile emulates it, else 1), and the profile (the client's, or that of the provider
        a ``provider:model`` string or an alias named), which also reads the answer."""
        body: Dict[str, Any] = {"messages": validate_messages(messages)}
        body.update(params.body())  # validates again: fields may have been reassigned
        if stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        endpoint = None
        profile = self._client._profile
        if self._client._providers is not None:  # provider:model, an alias (docs/providers.md)
            endpoint, body["model"] = self._client._route(body["model"])
            if endpoint is not None:
                from .profiles import profile_for

                profile = profile_for(endpoint.base_url, endpoint.profile)
        body, applied = self._client._adapt(body, params.extra_body, profile)
        request = self._client.build_request(
            "POST", "/chat/completions", body=body, options=params, endpoint=endpoint
        )
        count = 1
        if applied:
            from .profiles import copies

            count = copies(applied)
        return request, count, profile

    def create(self, messages: Any, parameters: ParamsLike = None, **kwargs: Any) -> Any:
        """Create a chat completion.

        Without callbacks: returns an ``OpenAIChatCompletionResult``. With any of
        ``on_data`` / ``on_terminate`` / ``on_response`` / ``on_error`` / ``formula``:
        returns a ``CallHandle`` at once and runs the call on a worker thread.
        ``stream=True`` needs a callback; use ``stream()`` to iterate.
        """
        params = _chat_parameters(parameters, kwargs)
        if params.stream and params.data_callback is None:
            raise ValueError(
                "stream=True needs a callback (on_data or formula) with create(); "
                "to iterate over chunks use client.chat.completions.stream(messages, ...)"
            )
        request, count, profile = self._request(messages, params, stream=params.stream)
        if params.has_callbacks():
            run: Callable[..., Any] = self._open if params.stream else self._complete
            return self._client._background(
                lambda cancel: run(request, count, params, cancel, profile), params
            )
        return self._complete(request, count, params, None, profile)

    def _complete(
        self,
        request: HTTPRequest,
        count: int,
        params: OpenAIChatCompletionParameters,
        cancel: Optional[threading.Event],
        profile: Profile,
    ) -> OpenAIChatCompletionResult:
        """One non-streamed call, sent ``count`` times when the profile emulates ``n``."""
        return self._client._drive(self._completion(request, count, params, profile), params, cancel)

    def _completion(
        self,
        request: HTTPRequest,
        count: int,
        params: OpenAIChatCompletionParameters,
        profile: Profile,
    ) -> Steps:
        """The call as steps, which either client drives (:meth:`OpenAI._drive`): yields
        the request each time it is to be sent, is given its result, returns the final one.
        ``profile`` says how the answer is read."""
        result: OpenAIChatCompletionResult = yield request
        if count > 1:
            from .emulate_n import merge_results

            results = [result]
            while result.success and len(results) < count:
                result = yield request
                results.append(result)
            result = merge_results(results)
        reasoning = profile.reasoning_renames
        if reasoning:
            from .profiles import read_reasoning

            read_reasoning(reasoning, result.body)
        reader = _output_reader(params)
        if reader is not None:  # the whole answer read as the call's types (outputs.py)
            reader.read(result)
            if params.throw and not params.has_callbacks():
                result.throw()
        return result

    def create_many(
        self,
        requests: Iterable[Any],
        parameters: ParamsLike = None,
        *,
        concurrency: int = 8,
        policy: Optional[PacingPolicy] = None,
        **kwargs: Any,
    ) -> List[OpenAIChatCompletionResult]:
        """Send many requests, at most ``concurrency`` at once, paced by the server's rate-limit
        headers and 429s; every result, in input order (failures too). ``requests``: message
        lists, or dicts with ``messages``, per-request parameters and ``custom_id``;
        ``parameters`` / keyword arguments apply to all. See docs/scale.md. On
        ``AsyncOpenAI``: ``await`` it (the calls are asyncio tasks, paced the same way)."""
        from .fanout import plan

        fan = plan(
            self, requests, _chat_parameters(parameters, kwargs), concurrency=concurrency, policy=policy
        )
        return self._client._fan_out(fan, ordered=True)  # type: ignore[no-any-return]

    def iter_many(
        self,
        requests: Iterable[Any],
        parameters: ParamsLike = None,
        *,
        concurrency: int = 8,
        policy: Optional[PacingPolicy] = None,
        **kwargs: Any,
    ) -> Iterator[Tuple[int, OpenAIChatCompletionResult]]:
        """Like :meth:`create_many`, but yields ``(index, result)`` as each call finishes
        (on ``AsyncOpenAI``: an asynchronous iterator, ``async for index, result in ...``)."""
        from .fanout import plan

        fan = plan(
            self, requests, _chat_parameters(parameters, kwargs), concurrency=concurrency, policy=policy
        )
        return self._client._fan_out(fan, ordered=False)  # type: ignore[no-any-return]

    def stream(self, messages: Any, parameters: ParamsLike = None, **kwargs: Any) -> ChatCompletionStream:
        """Start a streamed completion and return an iterator of chunk results.

        with client.chat.completions.stream(messages, model="m") as stream:
            for chunk in stream:
                print(chunk.text, end="", flush=True)
        final = stream.result()
        """
        params = _chat_parameters(parameters, dict(kwargs, stream=True))
        if params.has_callbacks():
            # The iterator form hands every chunk to the caller's loop; callbacks belong to
            # the background form, where a worker thread runs them.
            given = ", ".join(name for name in CALLBACKS if getattr(params, name, None) is not None)
            raise ValueError(
                "stream() does not take callbacks (got %s): iterate over the stream "
                "instead, or call create() with stream=True and the callbacks to run "
                "them on a worker thread" % given
            )
        request, count, profile = self._request(messages, params, stream=True)
        return self._open(request, count, params, None, profile)

    def _open(
        self,
        request: HTTPRequest,
        count: int,
        params: OpenAIChatCompletionParameters,
        cancel: Optional[threading.Event],
        profile: Profile,
        *,
        ahead: bool = False,
    ) -> ChatCompletionStream:
        """Open a stream; ``count`` streams one after the other when the profile emulates ``n``
        (then the merged answer is read as the call's types, not each part). ``ahead``: the
        driver sends each request before this code asks for its response (AsyncOpenAI)."""
        reader = _output_reader(params)
        first = self._open_stream(request, params, cancel, reader if count == 1 else None, profile)
        if count == 1:
            return first
        from .emulate_n import MergedStream

        return MergedStream(
            first,
            lambda: self._open_stream(request, params, cancel, None, profile),
            count,
            reader,
            ahead=request if ahead else None,
        )

    def _open_stream(
        self,
        request: HTTPRequest,
        params: OpenAIChatCompletionParameters,
        cancel: Optional[threading.Event],
        reader: Optional[OutputReader],
        profile: Profile,
    ) -> ChatCompletionStream:
        from .stream import ChatCompletionStream

        client = self._client
        reasoning = profile.reasoning_renames
        timeout, _ = client._limits(params)
        # With callbacks the worker must see every failure as a chunk and a result;
        # throw=True then raises from handle.result(), once.
        throw = params.throw and not params.has_callbacks()
        try:
            response = client._send(request, params, stream=True, cancel=cancel)
        except OpenAIException as exc:
            if throw:
                raise
            return ChatCompletionStream(
                None, timeout=timeout, throw=throw, error=exc.error, reasoning=reasoning
            )
        if not 200 <= response.status < 300:
            try:
                failed = read_result(response, OpenAIChatCompletionResult)
            finally:
                response.close()
            if throw:
                failed.throw()
            return ChatCompletionStream(
                None,
                timeout=timeout,
                throw=throw,
                error=failed.errors[0],
                status=failed.status,
                headers=failed.headers,
            )
        return ChatCompletionStream(
            response, timeout=timeout, throw=throw, reasoning=reasoning, reader=reader
        )

    # -- stored completions (store=True) ----------------------------------------------------------
    def retrieve(
        self, completion_id: str, parameters: Optional[OpenAIParameters] = None
    ) -> OpenAIChatCompletionResult:
        path = _stored_path(completion_id)
        return self._client._call_api("GET", path, OpenAIChatCompletionResult, parameters)

    def update(
        self,
        completion_id: str,
        metadata: Optional[Mapping[str, str]],
        parameters: Optional[OpenAIParameters] = None,
    ) -> OpenAIChatCompletionResult:
        """Replace the metadata of a stored completion (None clears it)."""
        if metadata is not None:
            metadata = dict(metadata)
            check_metadata("metadata", metadata)  # the rule of create's metadata
        body = {"metadata": metadata}
        path = _stored_path(completion_id)
        return self._client._call_api("POST", path, OpenAIChatCompletionResult, parameters, body=body)

    def delete(self, completion_id: str, parameters: Optional[OpenAIParameters] = None) -> OpenAIResult:
        return self._client._call_api("DELETE", _stored_path(completion_id), OpenAIResult, parameters)

    def list(
        self,
        parameters: Union[OpenAIChatCompletionListParameters, Mapping[str, Any], None] = None,
        **kwargs: Any,
    ) -> OpenAIResult:
        """List stored completions: ``after``, ``limit``, ``order``, ``metadata``, ``model``."""
        params = _list_parameters(parameters, kwargs)
        return self._client._call_api("GET", "/chat/completions", OpenAIResult, None, query=params.query())


def _stored_path(completion_id: str) -> str:
    return "/chat/completions/" + path_segment("completion_id", completion_id)


def _list_parameters(parameters: Any, kwargs: Mapping[str, Any]) -> OpenAIChatCompletionListParameters:
    from .list_parameters import OpenAIChatCompletionListParameters  # with the first listing

    if parameters is None:
        return OpenAIChatCompletionListParameters.from_dict(dict(kwargs))
    if isinstance(parameters, OpenAIChatCompletionListParameters):
        return dataclasses.replace(parameters, **kwargs) if kwargs else parameters
    if is_mapping(parameters):
        return OpenAIChatCompletionListParameters.from_dict({**parameters, **kwargs})
    raise TypeError(
        "parameters must be an OpenAIChatCompletionListParameters or a dict (got %s)"
        % type(parameters).__name__
    )


class ChatCompletionMessages:
    """``client.chat.completions.messages``: the messages of a stored completion."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    def list(
        self,
        completion_id: str,
        *,
        after: Optional[str] = None,
        limit: Optional[int] = None,
        order: Optional[str] = None,
        parameters: Optional[OpenAIParameters] = None,
    ) -> OpenAIResult:
        check_str("after", after, optional=True)
        check_int("limit", limit, 1, optional=True)
        check_choice("order", order, ("asc", "desc"), optional=True)
        query = {"after": after, "limit": limit, "order": order}
        path = _stored_path(completion_id) + "/messages"
        return self._client._call_api("GET", path, OpenAIResult, parameters, query=query)


class Models:
    """``client.models``: list and retrieve the models a server offers."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    def list(self, parameters: Optional[OpenAIParameters] = None) -> OpenAIResult:
        return self._client._call_api("GET", "/models", OpenAIResult, parameters)

    def retrieve(self, model: str, parameters: Optional[OpenAIParameters] = None) -> OpenAIResult:
        path = "/models/" + path_segment("model", model)
        return self._client._call_api("GET", path, OpenAIResult, parameters)
