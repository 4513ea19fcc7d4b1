"""What no text written for a team may contain, whoever wrote it (a model, a counterparty name).

Insights and analyst answers are read by every member of a team inside the product, so a text
that tells the reader to do something, asks for credentials or a payment, or carries a link, an
e-mail address, a phone number or an IBAN is a phishing message with the product's authority.
The checks are deliberately broad: a report on a team's figures never needs any of these, so a
false refusal costs one retry or the deterministic text, while a false pass reaches a whole team.
"""

from __future__ import annotations

import re

# The reader is told to act: obligations, politeness, urgency, threats to an account, and a
# sentence or bullet that starts with a verb addressed to the reader.
_IMPERATIVE_VERBS = (
    r"reply|respond|click|tap|call|phone|ring|contact|send|transfer|pay|wire|remit|deposit|"
    r"log\s*in|login|sign\s*in|sign\s*up|verify|confirm|update|enter|re-?enter|provide|share|"
    r"submit|visit|download|install|forward|e-?mail|dial|approve|authori[sz]e|"
    r"review|check|consider|ensure|go|follow|reset|register|scan|keep|avoid|chase|"
    r"reach\s+out|get\s+in\s+touch|act|stop|do\s+not|don'?t|never|remember|note|be\s+sure|"
    r"ignore|disregard|forget|buy|purchase|renew|claim"
)
INSTRUCTION_PATTERNS = (
    r"\byou\s+(?:must|should|need\s+to|have\s+to|ought\s+to|will\s+need\s+to|are\s+(?:required|"
    r"asked|requested|advised|encouraged)\s+to|can\s+(?:now\s+)?(?:reply|call|click|contact|"
    r"log|sign|send|pay|transfer|verify|confirm|update))\b",
    r"\bplease\b",
    r"\b(?:make\s+sure|be\s+sure\s+to|don'?t\s+forget|do\s+not\s+forget|remember\s+to|act\s+now|"
    r"as\s+soon\s+as\s+possible|asap|immediately|urgent(?:ly)?|right\s+away|without\s+delay|"
    r"before\s+it(?:'s|\s+is)\s+too\s+late|within\s+\d+\s+(?:minutes?|hours?|days?))\b",
    r"\b(?:reply|respond)\s+(?:to|with)\b|\bclick\s+(?:here|on|the)\b|\blog\s*in\s+to\b",
    r"\b(?:expired|expires|suspended|deactivated|compromised)\b",
    r"\b(?:account|connection|card|access|login|profile|subscription|password|session|banking)"
    r"\s+(?:\w+\s+){0,2}?(?:locked|blocked|closed|frozen|disabled|terminated|restricted)\b",
)
# A sentence or bullet that starts with a verb addressed to the reader. Not applied to names
# ("Check Point Software"), which never start a sentence of ours.
SENTENCE_START_PATTERNS = (
    r"(?:^|[.!?:;]\s+|^\s*(?:[-•*]|\d{1,2}[.)])\s*)(?:" + _IMPERATIVE_VERBS + r")\b",
)
# Credentials and the data that opens an account or a card.
CREDENTIAL_PATTERNS = (
    r"\bpass(?:word|code|phrase)s?\b",
    r"\bpin\s+(?:code|number)s?\b",
    r"(?-i:\b(?:PIN|TAN|OTP|CVV2?|CVC)s?\b)",
    r"\b(?:one[-\s]time|verification|security|login|log-in|access|authentication|2fa|sms|"
    r"confirmation)\s+(?:codes?|numbers?|details|data|credentials?)\b",
    r"\bcredentials?\b",
    r"\b(?:card|account|login|log-in|bank(?:ing)?)\s+(?:numbers?|details)\b",
    r"\bsecurity\s+questions?\b|\bonline\s+banking\b|\busernames?\b|\buser\s+ids?\b",
    r"\b(?:seed|recovery)\s+phrases?\b|\bprivate\s+keys?\b",
    r"\bsort\s+codes?\b|\brouting\s+numbers?\b|\bsocial\s+security\b",
)
# Payment requests: paying is something the text reports, never asks for.
PAYMENT_VERBS = (r"\b(?:pay|wire|remit)\b",)  # not in names: "Apple Pay" is a counterparty
PAYMENT_PATTERNS = (
    r"\b(?:transfer|send|move|deposit)\s+(?:\S+\s+){0,4}?(?:to|into)\s+(?:the|this|our|my|a|an|"
    r"following|your|new)\s+(?:account|iban|wallet|tax\s+office|address|card)\b",
    r"\bgift\s*cards?\b|\bbitcoins?\b|\bcrypto(?:currency)?\b|\bwallet\s+address\b",
    r"(?-i:\b(?:IBAN|BIC|SWIFT)\b)",
)
_LINK = (
    r"https?://|\bwww\.|\]\(|"
    r"(?-i:\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|biz|io|co|app|dev|xyz|"
    r"online|site|link|ly|me|ru|cn|de|ch|uk|eu|fr|nl|at|it|es|us|ca|au|in|top|shop|store|"
    r"support|help|login|bank|secure|page|click)\b)"
)
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b[\w.+-]+\s*[\[(]at[\])]\s*[\w-]+"
_PHONE = (
    r"\+\s?\d{1,3}(?:[ /-]?\(?\d{2,5}\)?){2,}|"
    r"\(\d{2,5}\)\s?\d{3,}[\s.-]?\d{2,}|\b\d{3}[-.]\d{3}[-.]\d{4}\b|"
    r"\b(?:hotline|helpline|whatsapp|telegram|signal\s+app|telephone|phone\s+number|call\s+us|"
    r"text\s+us|sms)\b"
)
_IBAN = r"(?-i:\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b)"

_RULES: tuple[tuple[str, bool, re.Pattern[str]], ...] = tuple(
    (reason, in_names, re.compile("|".join(patterns), re.IGNORECASE | re.MULTILINE))
    for reason, in_names, patterns in (
        ("it tells the reader what to do", False, SENTENCE_START_PATTERNS),
        ("it asks for a payment or bank details", False, PAYMENT_VERBS),
        ("it tells the reader what to do", True, INSTRUCTION_PATTERNS),
        ("it asks for credentials", True, CREDENTIAL_PATTERNS),
        ("it asks for a payment or bank details", True, PAYMENT_PATTERNS),
        ("it contains a link", True, (_LINK,)),
        ("it contains an e-mail address", True, (_EMAIL,)),
        ("it contains a phone number or contact channel", True, (_PHONE,)),
        ("it contains an IBAN", True, (_IBAN,)),
    )
)


def content_problems(text: str, *, quote: bool = True, name: bool = False) -> list[str]:
    """Why ``text`` may not be shown to a team, one reason per kind; empty means it may.

    ``quote`` adds the offending words (for the model's retry); leave it off for anything a
    person reads, so a refusal never repeats the phishing text it refused. ``name`` checks a
    counterparty or category name, which sits inside our sentences: a leading verb or the word
    "pay" is then part of a name, not an instruction."""
    problems: list[str] = []
    for reason, in_names, pattern in _RULES:
        if name and not in_names:
            continue
        match = pattern.search(text or "")
        if match and not any(p.startswith(reason) for p in problems):
            shown = f" ({match.group().strip()!r}); report only the figures" if quote else ""
            problems.append(reason + shown)
    return problems


def is_safe(text: str) -> bool:
    return not content_problems(text)


__all__ = [
    "CREDENTIAL_PATTERNS",
    "INSTRUCTION_PATTERNS",
    "PAYMENT_PATTERNS",
    "content_problems",
    "is_safe",
]
