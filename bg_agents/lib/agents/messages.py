"""Chat messages and model turns in the OpenAI chat-completions shape, backend-neutral, and the
one redaction every error message goes through before it is printed or stored."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text exactly as the model produced it (it may be malformed)


@dataclass(frozen=True)
class Usage:
    """Token counts; ``None`` is *unknown* (the server did not report a usable count), which the
    ledger stores as NULL instead of pretending it was 0."""

    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0

    @property
    def total(self) -> int:
        """The tokens known to have been used: what a budget can count on."""
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            _plus(self.prompt_tokens, other.prompt_tokens),
            _plus(self.completion_tokens, other.completion_tokens),
        )


def _plus(a: int | None, b: int | None) -> int | None:
    """Known counts add up; a sum stays unknown only when nothing in it is known."""
    return None if a is None and b is None else (a or 0) + (b or 0)


@dataclass(frozen=True)
class Turn:
    """One assistant reply: text, tool calls, or both."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None

    def as_message(self) -> Message:
        message: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return message


def system(text: str) -> Message:
    return {"role": "system", "content": text}


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def tool_result(call_id: str, content: str) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# --- redaction -----------------------------------------------------------------------------------

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
# Shorter values are not treated as secrets: redacting "test" or "none" would mangle messages.
_MIN_SECRET = 8
_PATTERNS = (
    # OpenAI-style keys, also the masked forms servers echo ("sk-proj-****abcd").
    (re.compile(r"\b(?:sk|rk)-[A-Za-z0-9_*.\-]{4,}"), "sk-[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 [redacted]"),
    # api_key=..., "password": "...", token: ...
    (
        re.compile(
            r"(?i)\b(api[_-]?key|access[_-]?token|token|password|passwd|secret)"
            r"(\"?\s*[=:]\s*\"?)[^\s\"',;&}]+"
        ),
        r"\1\2[redacted]",
    ),
    # Credentials in a URL: postgresql://user:password@host
    (re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*):[^@\s/]*@"), r"\1:[redacted]@"),
)


# Servers and proxies echo a key in another case or without its prefix ("SK-TEST123SECRET",
# "test123secret"): each registered secret is also matched by these forms.
_KEY_PREFIX = re.compile(r"(?i)^(?:sk-proj-|sk-|rk-)")


def _forms(secret: str) -> list[str]:
    """The secret and, when it has a known key prefix, its body (if that is long enough)."""
    body = _KEY_PREFIX.sub("", secret)
    return [secret, body] if body != secret and len(body) >= _MIN_SECRET else [secret]


@functools.lru_cache(maxsize=32)
def _secret_pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive alternation of every form of every secret, longest first."""
    forms = {form for secret in secrets for form in _forms(secret)}
    ordered = sorted(forms, key=lambda f: (-len(f), f))
    return re.compile("|".join(re.escape(f) for f in ordered), re.IGNORECASE)


def register_secret(value: str | None) -> None:
    """Remember a configured secret (an API key) so :func:`redact` removes it wherever it shows."""
    if value and len(value) >= _MIN_SECRET:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: object) -> str:
    """``text`` with API keys, bearer tokens, passwords and registered secrets replaced.

    Every path that prints or stores an error message passes it through here: servers echo keys
    in their errors ("Incorrect API key provided: sk-...") and drivers echo connection URLs.
    """
    out = str(text)
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    if secrets:
        out = _secret_pattern(tuple(secrets)).sub("[redacted]", out)
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out
