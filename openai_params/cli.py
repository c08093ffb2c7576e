"""The command line: ``python -m openai_params``, a small script-friendly chat tool.

    python -m openai_params "Why is the sky blue?"
    echo "Summarise this" | python -m openai_params --system "Be brief" -
    python -m openai_params --dry-run --param top_p=0.5 "Hi"     # the request, nothing sent
    python -m openai_params models
    python -m openai_params providers                            # keys redacted

Exit status: 0 success, 1 the server or the network failed, 2 a usage error
(a bad option or parameter value, or a setting the client refuses), 130
interrupted (Ctrl-C). Errors go to standard error as one line, never a
traceback, whatever the output's encoding::

    error: 429 rate_limit_exceeded: Rate limit reached (request id req_123)

The API key comes from ``OPENAI_API_KEY`` or ``--api-key-file``; there is no
option that takes the key itself, because arguments end up in shell history
and in every process listing. The key is never printed.

The client, parameters and request modules are imported inside the commands,
after the arguments are parsed, so ``--help`` and usage errors stay fast.
See docs/cli.md for the full reference.
"""

import argparse
import codecs
import json
import os
import sys
import warnings
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    NoReturn,
    Optional,
    Sequence,
    TextIO,
    Tuple,
    TypeVar,
)

if TYPE_CHECKING:
    from .client import OpenAI
    from .errors import OpenAIError
    from .parameters import OpenAIChatCompletionParameters
    from .results import OpenAIChatCompletionResult, OpenAIChoice
    from .transport import HTTPRequest

__all__ = ["main", "build_parser", "error_line", "describe", "as_curl"]

EXIT_OK = 0
EXIT_FAILED = 1  # the server or the network failed
EXIT_USAGE = 2  # what argparse uses for its own errors too
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

T = TypeVar("T")

_RESPONSE_FORMATS = {"json": {"type": "json_object"}, "text": {"type": "text"}}

_EPILOG = """\
commands:
  %(prog)s models [options]      list the ids of the server's models
  %(prog)s batch IN.jsonl -o OUT.jsonl [options]
                                 send a JSONL file of requests, paced and resumable
                                 (see %(prog)s batch --help)
  %(prog)s providers [options]   list the providers and model aliases (keys redacted)

The prompt "-" reads it from standard input. To send the word "models" as a
prompt, write: %(prog)s -- models

environment:
  OPENAI_API_KEY    the API key (or --api-key-file; never given as an argument)
  OPENAI_BASE_URL   the server, default https://api.openai.com/v1
  OPENAI_MODEL      the model when --model is not given
  OPENAI_PARAMS_PROVIDERS  the providers file (default $XDG_CONFIG_HOME/openai_params/providers.json)

exit status: 0 success, 1 server or network failure, 2 usage error, 130 interrupted
"""


class UsageError(Exception):
    """A mistake in the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, minus two ways of leaking a key: prefix matching of
    option names and echoing bad arguments back."""

    def __init__(self, **kwargs: Any) -> None:
        # Without allow_abbrev=False, "--api-key sk-..." would be taken for --api-key-file.
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> "NoReturn":
        """One line, like every other error of the command (argparse adds the usage first)."""
        from ._redact import redact_text

        self.exit(EXIT_USAGE, "error: %s (see %s --help)\n" % (redact_text(message), self.prog))


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name if name == "openai-params" else "python -m openai_params"


def _connection_options() -> argparse.ArgumentParser:
    """Options the chat and models commands share: where to connect, how long to wait, what to print."""
    common = _Parser(add_help=False)
    _add_connection_options(common)
    output = common.add_argument_group("output")
    output.add_argument(
        "--json", action="store_true", help="print the raw JSON response (streamed: one JSON chunk per line)"
    )
    show = output.add_mutually_exclusive_group()
    show.add_argument(
        "--dry-run", action="store_true", help="print the exact HTTP request (key redacted) and send nothing"
    )
    show.add_argument(
        "--curl",
        action="store_true",
        help="print the request as a curl command (key read from $OPENAI_API_KEY) and send nothing",
    )
    return common


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Where to connect and how long to wait: the options of every command."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--base-url", metavar="URL", help="the API's base URL (default: $OPENAI_BASE_URL, else OpenAI's)"
    )
    group.add_argument(
        "--api-key-file", metavar="PATH", help="read the API key from this file (default: $OPENAI_API_KEY)"
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="adapt requests to this kind of server: llama.cpp, ollama, mistral, ... "
        "(default: chosen by the host, else generic; see docs/providers.md)",
    )
    group.add_argument(
        "--provider",
        metavar="NAME",
        help="a provider (built in or from the providers file): its base URL, key variable and profile",
    )
    group.add_argument(
        "--providers", metavar="PATH", help="the providers file (default: see docs/providers.md)"
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds to wait for the connection and for each piece of the answer (default: 600)",
    )
    group.add_argument(
        "--max-retries", type=int, metavar="N", help="retries after a failed attempt (default: 2)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the chat command (the default command)."""
    prog = _prog()
    parser = _Parser(
        prog=prog,
        parents=[_connection_options()],
        description="Send one chat message to an OpenAI-compatible server and print the answer.",
        epilog=_EPILOG % {"prog": prog},
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="?", help='the user message; "-" reads it from standard input')
    from ._version import __version__

    parser.add_argument("--version", action="version", version="openai_params " + __version__)
    chat = parser.add_argument_group("request")
    chat.add_argument("--system", metavar="TEXT", help="a system message sent before the prompt")
    chat.add_argument("--model", metavar="NAME", help="the model (default: $OPENAI_MODEL, else gpt-4o-mini)")
    chat.add_argument("--temperature", type=float, metavar="T", help="sampling temperature, 0 to 2")
    chat.add_argument(
        "--max-completion-tokens", type=int, metavar="N", help="upper bound of tokens in the answer"
    )
    chat.add_argument("-n", type=int, metavar="N", help="how many answers (choices) to generate")
    chat.add_argument(
        "--stop",
        action="append",
        metavar="TEXT",
        help="stop when this text is generated (repeatable, up to 4)",
    )
    chat.add_argument("--seed", type=int, metavar="N", help="ask for deterministic sampling")
    chat.add_argument(
        "--response-format",
        choices=sorted(_RESPONSE_FORMATS),
        help='"json" asks for a JSON object (response_format json_object)',
    )
    chat.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other request field; VALUE is read as JSON when it parses, else as a string (repeatable)",
    )
    mode = chat.add_mutually_exclusive_group()
    mode.add_argument(
        "--stream",
        dest="stream",
        action="store_true",
        default=None,
        help="print the answer as it arrives (the default when stdout is a terminal)",
    )
    mode.add_argument(
        "--no-stream", dest="stream", action="store_false", help="wait for the whole answer, then print it"
    )
    return parser


def build_models_parser() -> argparse.ArgumentParser:
    return _Parser(
        prog=_prog() + " models",
        parents=[_connection_options()],
        description="List the ids of the models the server offers.",
    )


def _build_batch_parser() -> argparse.ArgumentParser:
    from .batch_cli import build_batch_parser  # its own module: docs/scale.md

    return build_batch_parser()


def build_providers_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_prog() + " providers",
        description="List the providers (built in and from the providers file) and the model aliases; "
        "keys are never shown, only where they come from.",
    )
    parser.add_argument(
        "--providers", metavar="PATH", help="the providers file (default: see docs/providers.md)"
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    return parser


#: The commands named by the first argument, with their parsers; anything else is a prompt.
_COMMANDS = {"models": build_models_parser, "batch": _build_batch_parser, "providers": build_providers_parser}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    out, err = _Output(sys.stdout), _Output(sys.stderr)
    try:
        try:
            return _main(list(sys.argv[1:] if argv is None else argv), out, err)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head -1``): stop quietly. Point stdout at /dev/null so the
        # interpreter's final flush does not raise a second time.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_FAILED


def _main(args_list: List[str], out: "_Output", err: "_Output") -> int:
    command = args_list[0] if args_list and args_list[0] in _COMMANDS else None
    if any(arg == "--api-key" or arg.startswith("--api-key=") for arg in args_list):
        err.write(
            "error: there is no --api-key option (it would land in shell history and process "
            "lists): set OPENAI_API_KEY or use --api-key-file PATH\n"
        )
        return EXIT_USAGE
    parser = _COMMANDS[command]() if command else build_parser()
    try:
        args = parser.parse_args(args_list[1:] if command else args_list)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error (status 2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not command and args.prompt in _COMMANDS and "--" not in args_list:
        # "--base-url URL models" would otherwise send the word to the model.
        err.write(
            "error: put the %s command first (%s %s [options]); to send "
            '"%s" as a prompt write: %s -- %s\n'
            % (args.prompt, _prog(), args.prompt, args.prompt, _prog(), args.prompt)
        )
        return EXIT_USAGE
    # The key is hidden in every line printed, whatever happens, even before the client has it.
    key = (os.environ.get("OPENAI_API_KEY") or "").strip() or None
    try:
        if command == "providers":
            return _run_providers(args, out, err)
        file_key = _read_key_file(args.api_key_file) if args.api_key_file else None
        key = file_key or key
        with _client(args, file_key, err) as client:
            key = client.api_key or key
            if command == "models":
                return _run_models(args, client, out, err)
            if command == "batch":
                from .batch_cli import run_batch

                return run_batch(args, client, out, err)
            return _run_chat(args, client, out, err)
    except UsageError as exc:
        err.write(_scrub("error: " + _one_line(str(exc)), key) + "\n")
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # the reader went away: main() stops quietly
    except Exception as exc:  # a bug in the package: still one line, and never the key
        err.write(
            _scrub(
                "error: unexpected %s: %s (a bug in openai_params, please report it)"
                % (type(exc).__name__, _one_line(str(exc))),
                key,
            )
            + "\n"
        )
        return EXIT_FAILED


# -- building the client, the messages and the parameters --------------------------------------


def _read_key_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError("cannot read --api-key-file %s: %s" % (path, why)) from None
    key = text.strip()
    if not key or len(key.split()) != 1:  # the file's content is never quoted in the message
        raise UsageError("--api-key-file %s must contain the key alone on one line" % path)
    return key


def _client(args: argparse.Namespace, key: Optional[str], err: "_Output") -> "OpenAI":
    from .client import OpenAI

    options: Dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return _checked(
        lambda: OpenAI(
            api_key=key,
            base_url=args.base_url,
            provider=args.provider,
            providers=args.providers,
            profile=args.profile,
            **options,
        ),
        err,
        key,
    )


def _checked(make: Callable[[], T], err: "_Output", key: Optional[str]) -> T:
    """``make()``, what goes wrong said as the command says it: a ``TypeError`` or ``ValueError``
    is a usage error, and each warning (an unknown ``reasoning_effort``, a providers file that
    others can read) is printed once, as one line, even when the checks behind it ran twice."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            made = make()
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
    for text in dict.fromkeys(str(warning.message) for warning in caught):
        err.write(_scrub("warning: " + _one_line(text), key) + "\n")
    return made


def _read_prompt(prompt: Optional[str]) -> str:
    if prompt is None:
        raise UsageError('no prompt: give it as an argument, or "-" to read standard input')
    if prompt == "-":
        try:
            text = sys.stdin.read().rstrip()  # the newline that echo and editors add
        except UnicodeDecodeError as exc:  # e.g. UTF-8 bytes with PYTHONIOENCODING=ascii
            raise UsageError(
                "standard input is not %s text (byte 0x%02x at position %d); set "
                "PYTHONIOENCODING to its encoding" % (exc.encoding, exc.object[exc.start], exc.start)
            ) from exc
        if not text.strip():
            raise UsageError("the prompt read from standard input is empty")
        return text
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return prompt


def parse_value(raw: str) -> Any:
    """A ``--param`` value: JSON when it parses (``0.5``, ``true``, ``{"a": 1}``), else the text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parameter_values(args: argparse.Namespace) -> Dict[str, Any]:
    """The parameters as a dict for ``from_dict``: ``--param`` first, then the named options."""
    values: Dict[str, Any] = {}
    for item in args.param:
        name, sep, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise UsageError("--param needs KEY=VALUE (got %r)" % item)
        values[name] = parse_value(raw)
    if args.model:
        values["model"] = args.model
    elif "model" not in values and os.environ.get("OPENAI_MODEL"):
        values["model"] = os.environ["OPENAI_MODEL"]
    named = {
        "temperature": args.temperature,
        "max_completion_tokens": args.max_completion_tokens,
        "n": args.n,
        "stop": args.stop,
        "seed": args.seed,
        "response_format": (_RESPONSE_FORMATS[args.response_format] if args.response_format else None),
    }
    values.update((name, value) for name, value in named.items() if value is not None)
    return values


def _wants_stream(args: argparse.Namespace, values: Dict[str, Any], out: "_Output") -> bool:
    if args.stream is not None:
        return bool(args.stream)
    if isinstance(values.get("stream"), bool):  # --param stream=true
        return bool(values["stream"])
    return out.isatty()


# -- the chat command ---------------------------------------------------------------------------


def _run_chat(args: argparse.Namespace, client: "OpenAI", out: "_Output", err: "_Output") -> int:
    from .parameters import OpenAIChatCompletionParameters

    messages: List[Dict[str, Any]] = []
    if args.system is not None:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": _read_prompt(args.prompt)})
    values = _parameter_values(args)
    values["stream"] = stream = _wants_stream(args, values, out)

    def build() -> "Tuple[OpenAIChatCompletionParameters, HTTPRequest]":
        params = OpenAIChatCompletionParameters.from_dict(values)
        # Built here, before anything is sent, so that every bad value is a usage error.
        return params, client.chat.completions.build_request(messages, params)

    params, request = _checked(build, err, client.api_key)
    if args.dry_run or args.curl:
        return _show_request(request, args.curl, client, params.model, out)
    # The command reports every failed call itself, one line and exit status 1; with
    # throw=True the failure would come as an exception instead.
    params.throw = False
    if stream:
        return _stream(client, messages, params, args.json, out, err)
    result = client.chat.completions.create(messages, params)
    if not result.success:
        return _fail(result.errors, client.api_key, err)
    if args.json:
        out.write(out.json(result.body, indent=2) + "\n")
    else:
        _print_choices(result, out)
    out.flush()
    return EXIT_OK


def _stream(
    client: "OpenAI",
    messages: List[Dict[str, Any]],
    params: "OpenAIChatCompletionParameters",
    as_json: bool,
    out: "_Output",
    err: "_Output",
) -> int:
    live = as_json or params.n == 1  # n > 1: choices interleave, so they are printed at the end
    text_open = False  # text printed that does not end with a newline yet
    with client.chat.completions.stream(messages, params) as stream:
        try:
            for chunk in stream:
                if not chunk.success:
                    break
                if as_json:
                    out.write(out.json(chunk.body) + "\n")
                elif live and chunk.text:
                    text_open = not chunk.text.endswith("\n")  # before writing: Ctrl-C may come any time
                    out.write(chunk.text)
                out.flush()
        except KeyboardInterrupt:
            stream.close()
            if text_open:
                out.write("\n")
            out.flush()
            return EXIT_INTERRUPTED
        final = stream.result()
    if not as_json:
        if live:
            if text_open or (final.success and not final.text):
                out.write("\n")
        elif final.success:
            _print_choices(final, out)
    out.flush()
    if not final.success:
        return _fail(final.errors, client.api_key, err)
    return EXIT_OK


def _print_choices(result: "OpenAIChatCompletionResult", out: "_Output") -> None:
    choices = sorted(result.choices, key=lambda c: c.index)
    for choice in choices:
        if len(choices) > 1:
            out.write("--- choice %d ---\n" % choice.index)
        text = _choice_text(choice)
        out.write(text if text.endswith("\n") else text + "\n")


def _choice_text(choice: "OpenAIChoice") -> str:
    message = choice.message
    if message is None:
        return ""
    parts = [message.text] if message.text else []
    if message.refusal:
        parts.append("refusal: " + message.refusal)
    for call in message.tool_calls or ():
        function = call.get("function") or {}
        parts.append("tool call: %s(%s)" % (function.get("name"), function.get("arguments") or ""))
    return "\n".join(parts)


# -- the models command -------------------------------------------------------------------------


def _run_models(args: argparse.Namespace, client: "OpenAI", out: "_Output", err: "_Output") -> int:
    if args.dry_run or args.curl:
        request = client.build_request("GET", "/models")
        return _show_request(request, args.curl, client, None, out)
    result = client.models.list()
    if not result.success:
        return _fail(result.errors, client.api_key, err)
    if args.json:
        out.write(out.json(result.body, indent=2) + "\n")
    else:
        for item in result.items:
            if isinstance(item, dict) and item.get("id") is not None:
                out.write(str(item["id"]) + "\n")
    out.flush()
    return EXIT_OK


# -- the providers command ----------------------------------------------------------------------


def _run_providers(args: argparse.Namespace, out: "_Output", err: "_Output") -> int:
    from .providers import BUILT_IN, ProviderTable, open_providers

    table = _checked(
        lambda: open_providers(args.providers, None, os.environ) or ProviderTable(BUILT_IN, {}), err, None
    )
    rows = table.listing(os.environ)
    if args.json:
        listing = {"file": table.source, "providers": rows, "models": table.models}
        out.write(out.json(listing, indent=2) + "\n")
    else:
        lines = [("NAME", "BASE URL", "KEY", "PROFILE", "FROM")]
        lines += [(r["name"], r["baseURL"], r["key"], r["profile"], r["from"]) for r in rows]
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        for line in lines:
            out.write(
                "  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[4] + "\n"
            )
        if table.models:
            out.write("\nmodel aliases:\n")
            for alias, (provider, model) in sorted(table.models.items()):
                out.write("%s -> %s:%s\n" % (alias, provider, model))
    out.flush()
    return EXIT_OK


# -- output helpers -----------------------------------------------------------------------------


def _key_source(client: "OpenAI", model: Optional[str]) -> Tuple[Optional[str], str]:
    """The variable ``--curl`` writes for the key (None: shown redacted), and its header."""
    table = client._providers
    name = client.provider
    if table is not None and model is not None:
        name = table.resolve(model)[0] or name
    if table is None or name is None:
        return "OPENAI_API_KEY", "Authorization"
    provider = table.get(name)
    return (None if provider.api_key else provider.key_variable), provider.key_header


def _show_request(
    request: "HTTPRequest", curl: bool, client: "OpenAI", model: Optional[str], out: "_Output"
) -> int:
    """What ``--dry-run`` (or ``--curl``) prints; ``model`` may name a provider (None: the client's)."""
    if curl:
        variable, header = _key_source(client, model)
        text = as_curl(request, out.ensure_ascii, key_variable=variable, key_header=header)
    else:
        text = describe(request, out.ensure_ascii)
    out.write(_scrub(text, client.api_key) + "\n")  # the key cannot hide in a body either
    out.flush()
    return EXIT_OK


def describe(request: "HTTPRequest", ensure_ascii: bool = False) -> str:
    """The request as text, what ``--dry-run`` prints: credentials in the URL and headers hidden.

    ``ensure_ascii`` writes the body's non-ASCII characters as JSON escapes (the same JSON).
    """
    from ._redact import redact_url, redacted_headers

    lines = ["%s %s" % (request.method, redact_url(request.url))]
    lines += ["%s: %s" % item for item in redacted_headers(request.headers).items()]
    if isinstance(request.body, bytes):
        lines += [
            "",
            json.dumps(json.loads(request.body.decode("utf-8")), indent=2, ensure_ascii=ensure_ascii),
        ]
    return "\n".join(lines)


def as_curl(
    request: "HTTPRequest",
    ensure_ascii: bool = False,
    key_variable: Optional[str] = "OPENAI_API_KEY",
    key_header: str = "Authorization",
) -> str:
    """An equivalent ``curl`` command, what ``--curl`` prints. The key is read from
    ``$OPENAI_API_KEY`` (``key_variable``: a provider's own, such as ``$MISTRAL_API_KEY``,
    in ``key_header``) when it runs; other credentials (a secret header, a ``?key=`` in the
    URL, a password before the host) are shown hidden, as everywhere: put them back to run it.
    """
    import shlex

    from ._redact import is_secret_header, redact, redact_url

    lines = ["curl -sS -X %s %s" % (request.method, shlex.quote(redact_url(request.url)))]
    for name, value in request.headers.items():
        if (
            key_variable
            and name.lower() == key_header.lower() == "authorization"
            and value.startswith("Bearer ")
        ):
            lines.append('-H "Authorization: Bearer $%s"' % key_variable)
        elif key_variable and name.lower() == key_header.lower():
            lines.append('-H "%s: $%s"' % (name, key_variable))
        elif is_secret_header(name):
            lines.append("-H " + shlex.quote("%s: %s" % (name, redact(value))))
        else:
            lines.append("-H " + shlex.quote("%s: %s" % (name, value)))
    if isinstance(request.body, bytes):
        body = request.body.decode("utf-8")
        if ensure_ascii:
            body = json.dumps(json.loads(body), ensure_ascii=True, separators=(",", ":"))
        lines.append("--data-raw " + shlex.quote(body))
    return " \\\n  ".join(lines)


def error_line(error: "OpenAIError") -> str:
    """``error: 429 rate_limit_exceeded: message (request id req_...)``, on one line.

    The label is the error's ``code`` when the server gave one (the most specific
    name: ``rate_limit_exceeded``, ``model_not_found``), else its ``type``.
    """
    # A stream that broke after "200 OK" is not a 200 error: the status is shown when it failed.
    failed_status = error.status is not None and not 200 <= error.status < 300
    head = " ".join(
        part for part in (str(error.status) if failed_status else "", error.code or error.type or "") if part
    )
    line = "error: " + (head + ": " if head else "") + (error.message or "(no message)")
    if error.request_id:
        line += " (request id %s)" % error.request_id
    return _one_line(line)


def _fail(errors: Sequence["OpenAIError"], key: Optional[str], err: "_Output", doing: str = "") -> int:
    """The first error as one line (``doing``: what failed, said after it); exit status 1."""
    line = error_line(errors[0]) if errors else "error: the call did not complete"
    err.write(_scrub(line + (" (%s)" % doing if doing else ""), key) + "\n")
    err.flush()
    return EXIT_FAILED


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _scrub(text: str, key: Optional[str]) -> str:
    """Never print the key: the configured one wherever it appears, and anything key-shaped."""
    from ._redact import redact_text

    return redact_text(text, [key] if key else [])


class _Output:
    """Standard output or error as the command writes to it: a character the stream's encoding
    cannot carry (``PYTHONIOENCODING=ascii``, a Windows code page, a lone surrogate from a
    server) is written as a backslash escape, ``\\xe9``, ``\\u2014``, instead of failing; JSON
    is then written with JSON escapes, ``\\u00e9``, so that it stays the same JSON."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            self.ensure_ascii = not codecs.lookup(self.encoding).name.startswith("utf")
        except LookupError:
            self.ensure_ascii = True

    def write(self, text: str) -> None:
        self.stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))

    def json(self, value: Any, indent: Optional[int] = None) -> str:
        return json.dumps(value, indent=indent, ensure_ascii=self.ensure_ascii)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False
