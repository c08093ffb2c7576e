"""A conversation with two tools, against the local model (or any OpenAI-compatible server).

    python examples/chat_with_tools.py            # OPENAI_BASE_URL, OPENAI_MODEL from the environment

Start the local server first (``python scripts/local_server.py run -- python
examples/chat_with_tools.py`` does both). Two plain Python functions become the
tools; each prompt names the one the model must call (a small model does not pick
tools by itself reliably), the helper runs it, sends its answer back, and the
model replies in text. The history carries the first exchange into the second.
"""

import datetime
import os
import sys

# Run from a checkout without installing: the package is one directory up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from openai_params import OpenAI  # noqa: E402


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city's name, like "Paris".
    """
    return "18 C and sunny in %s" % city


def get_time(city: str) -> dict:
    """The local time in a city.

    Args:
        city: The city's name, like "Paris".
    """
    return {"city": city, "time": datetime.time(9, 30).isoformat(timespec="minutes")}


def main() -> int:
    # The llama-cpp-python server refuses an assistant message whose tool calls come with
    # "content": null; its profile sends "" instead (see docs/providers.md).
    client = OpenAI(api_key="sk-local", profile=os.environ.get("OPENAI_PROFILE", "llama-cpp-python"))
    helper = client.chat.create(
        "You are a helpful assistant. Answer in one short sentence.",
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        temperature=0,
        seed=7,
        max_tokens=60,
    )
    helper.register_tools([get_weather, get_time])
    for question, tool in (
        ("What is the weather in Paris?", "get_weather"),
        ("And what time is it there?", "get_time"),
    ):
        # A tool_choice naming a function applies to the first round of the prompt only.
        helper.parameters = helper.parameters.replace(
            tool_choice={"type": "function", "function": {"name": tool}}
        )
        result = helper.prompt(question)
        print("user:", question)
        for message in helper.messages[-3:-1]:  # the call and its reply
            for call in message.tool_calls or ():
                print("  call:", call["function"]["name"], call["function"]["arguments"])
            if message.role == "tool":
                print("  reply:", message.content)
        if not result.success:
            print("failed:", result.errors[0], file=sys.stderr)
            return 1
        print("assistant:", result.choice.message.content.strip())
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
