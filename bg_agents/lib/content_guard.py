"""What no text written for a team may contain, whoever wrote it (a model, a counterparty name).

Insights and analyst answers are read by every member of a team inside the product, so a text
that tells the reader to do something, asks for credentials or a payment, or carries a link, an
e-mail address, a phone number or an IBAN is a phishing message with the product's authority.
The checks are deliberately broad: a report on a team's figures never needs any of these, so a
false refusal costs one retry or the deterministic text, while a false pass reaches a whole team.
"""

from __future__ import annotations

import re
import unicodedata

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

# The same requests in the languages of the locales teams use (the simulated world has German,
# French and Portuguese teams; Spanish, Italian and Dutch are common for the same products), plus
# credentials in the scripts of the other simulated locales. Plain words, matched as whole words
# after folding (accents, case, lookalike letters: see _fold); "*" is any letters, a space any
# whitespace. "imperative" words are verbs addressed to the reader: not applied to names, where
# a verb can be part of a name, as the English sentence-start rule.
FOREIGN_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "credentials": (
            "*passwort*", "*passwört*", "*kennwort*", "zugangsdaten", "anmeldedaten",
            "logindaten", "login-daten", "*zugangscode*", "sicherheitscode*",
            "bestätigungscode*", "einmalcode*", "pin-code*", "pincode*", "pin-nummer*",
            "geheimzahl*", "pushtan", "push-tan", "smstan", "sms-tan", "mtan", "tan-nummer*",
            "kartennummer*", "kontonummer*", "kontodaten", "bankdaten", "bankverbindung*",
            "benutzername*", "online-banking", "onlinebanking", "sicherheitsfrage*",
        ),
        "instruction": (
            "bitte", "sie müssen", "sie sollten", "sie sollen", "sie werden gebeten",
            "umgehend", "unverzüglich", "dringend", "abgelaufen", "läuft ab",
            "gesperrt", "deaktiviert", "kompromittiert", "blockiert", "eingeschränkt",
        ),
        "imperative": (
            "antworte", "antworten sie", "senden sie", "sende", "schicken sie", "schick*",
            "klicken sie", "klicke", "bestätigen sie", "bestätige", "melden sie sich",
            "rufen sie", "ruf", "kontaktieren sie", "geben sie", "teilen sie", "loggen sie",
            "überweisen sie", "überweise", "zahlen sie", "bezahlen sie", "aktualisieren sie",
            "verifizieren sie", "öffnen sie", "besuchen sie", "sofort",  # also a payment brand
        ),
        "payment": ("überweisung auf", "geschenkkarte*", "gutscheinkarte*", "gutscheincode*"),
    },
    "fr": {
        "credentials": (
            "mot de passe", "mots de passe", "identifiant*", "code secret", "code confidentiel",
            "code pin", "code de vérification", "code de sécurité", "code de confirmation",
            "numéro de carte", "numéro de compte", "coordonnées bancaires", "données bancaires",
            "informations bancaires", "nom d'utilisateur",
        ),
        "instruction": (
            "veuillez", "merci de", "s'il vous plaît", "s'il vous plait", "svp", "vous devez",
            "il faut", "immédiatement", "sans délai", "dès que possible", "urgent", "urgente",
            "expiré", "expirée", "suspendu", "suspendue", "bloqué", "bloquée", "désactivé",
            "désactivée", "verrouillé", "verrouillée",
        ),
        "imperative": (
            "répondez", "réponds", "envoyez", "envoyez-nous", "cliquez", "confirmez",
            "vérifiez", "connectez-vous", "appelez", "contactez", "contactez-nous", "payez",
            "réglez", "virez", "transférez", "saisissez", "entrez", "communiquez", "indiquez",
            "mettez à jour", "rendez-vous",
        ),
        "payment": ("effectuez un virement", "faites un virement", "carte cadeau*"),
    },
    "es": {
        "credentials": (
            "contraseña*", "clave de acceso", "clave bancaria", "clave secreta", "código pin",
            "código de verificación", "código de seguridad", "código de confirmación",
            "número de tarjeta", "número de cuenta", "datos bancarios", "credenciales",
            "nombre de usuario",
        ),
        "instruction": (
            "por favor", "usted debe", "debe usted", "inmediatamente", "urgente", "cuanto antes",
            "caducado", "caducada", "expirado", "expirada", "suspendido", "suspendida",
            "bloqueado", "bloqueada", "desactivado", "desactivada",
        ),
        "imperative": (
            "responda", "responde", "respóndanos", "envíe", "envíenos", "envía", "haga clic",
            "confirme", "verifique", "inicie sesión", "llame", "llámenos", "contacte",
            "contáctenos", "pague", "transfiera", "ingrese", "introduzca", "actualice",
            "facilite", "proporcione", "indique",
        ),
        "payment": ("realice una transferencia", "haga una transferencia", "tarjeta regalo"),
    },
    "it": {
        "credentials": (
            "parola d'ordine", "codice segreto", "codice pin", "codice di verifica",
            "codice di sicurezza", "codice di conferma", "credenziali", "numero della carta",
            "numero di carta", "numero di conto", "dati bancari", "coordinate bancarie",
            "nome utente",
        ),
        "instruction": (
            "per favore", "si prega", "la preghiamo", "lei deve", "immediatamente",
            "scaduto", "scaduta", "sospeso", "sospesa", "bloccato", "bloccata",
            "disattivato", "disattivata",
        ),
        "imperative": (
            "rispondi", "risponda", "rispondete", "invia", "invii", "inviate", "inviaci",
            "clicca", "clicchi", "conferma", "confermi", "verifica", "verifichi", "accedi",
            "acceda", "chiama", "chiami", "contatta", "contatti", "contattaci", "paga", "paghi",
            "effettui", "inserisci", "inserisca", "aggiorna", "aggiorni", "fornisci",
            "fornisca", "comunica", "comunichi", "deve", "subito",
        ),
        "payment": ("effettui un bonifico", "fai un bonifico", "carta regalo", "buono regalo"),
    },
    "pt": {
        "credentials": (
            "senha*", "palavra-passe", "palavra passe", "código pin", "código de verificação",
            "código de segurança", "código de confirmação", "credenciais", "número do cartão",
            "número da conta", "dados bancários", "nome de usuário", "nome de utilizador",
        ),
        "instruction": (
            "por favor", "você deve", "voce deve", "imediatamente", "urgente", "o quanto antes",
            "expirado", "expirada", "suspenso", "suspensa", "bloqueado", "bloqueada",
            "desativado", "desativada",
        ),
        "imperative": (
            "responda", "responde", "envie", "envie-nos", "clique", "confirme", "verifique",
            "acesse", "aceda", "ligue", "contate", "entre em contato", "pague", "transfira",
            "digite", "informe", "atualize", "forneça",
        ),
        "payment": ("faça uma transferência", "faça um pix", "cartão presente", "vale-presente"),
    },
    "nl": {
        "credentials": (
            "*wachtwoord*", "inloggegevens", "pincode*", "verificatiecode*",
            "beveiligingscode*", "bevestigingscode*", "kaartnummer*", "rekeningnummer*",
            "bankgegevens", "gebruikersnaam*",
        ),
        "instruction": (
            "alstublieft", "alsjeblieft", "graag", "gelieve", "u moet", "onmiddellijk",
            "dringend", "zo snel mogelijk", "verlopen", "geblokkeerd", "opgeschort",
            "gedeactiveerd", "geschorst",
        ),
        "imperative": (
            "antwoord", "beantwoord", "stuur", "verstuur", "klik", "bevestig", "verifieer",
            "neem contact op", "betaal", "maak over", "voer", "vul", "werk bij",
        ),
        "payment": ("maak het bedrag over", "cadeaukaart*", "cadeaubon*"),
    },
    # No spaces between words in Japanese: these match anywhere.
    "ja": {"credentials": ("パスワード", "暗証番号", "認証コード", "ワンタイム")},
    "fa": {"credentials": ("رمز عبور", "رمز دوم", "گذرواژه")},
    "ne": {"credentials": ("पासवर्ड", "पिन नम्बर")},
}  # fmt: skip
# Cyrillic and Greek letters that look like Latin ones ("раssword" with a Cyrillic "а").
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһԛԝӏАВЕКМНОРСТХІЈЅԌαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhqwlABEKMHOPCTXIJSGabeiknoptuxABEZHIKMNOPTYX",
)


def _fold(text: str) -> str:
    """``text`` as the rules read it: compatibility forms (fullwidth, ligatures, math letters)
    and accents removed, lookalike Cyrillic and Greek letters made Latin, invisible format
    characters dropped, "ß" as "ss". Case is kept for the rules that need it (PIN, IBAN)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_CONFUSABLES))
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    return kept.replace("ß", "ss").replace("ẞ", "SS")


def _term(term: str) -> str:
    """A FOREIGN_TERMS entry as a pattern for folded text."""
    words = _fold(term.lower()).split("*")
    body = r"\w*".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    if not term.isascii() and not any("LATIN" in unicodedata.name(ch, "") for ch in term):
        return body  # scripts without spaces between words
    return rf"(?<!\w){body}(?!\w)"


def _foreign(kind: str) -> tuple[str, ...]:
    return tuple(_term(t) for terms in FOREIGN_TERMS.values() for t in terms.get(kind, ()))


_RULES: tuple[tuple[str, bool, re.Pattern[str]], ...] = tuple(
    (reason, in_names, re.compile("|".join(patterns), re.IGNORECASE | re.MULTILINE))
    for reason, in_names, patterns in (
        ("it tells the reader what to do", False, SENTENCE_START_PATTERNS),
        ("it asks for a payment or bank details", False, PAYMENT_VERBS),
        ("it tells the reader what to do", False, _foreign("imperative")),
        ("it tells the reader what to do", True, INSTRUCTION_PATTERNS + _foreign("instruction")),
        ("it asks for credentials", True, CREDENTIAL_PATTERNS + _foreign("credentials")),
        ("it asks for a payment or bank details", True, PAYMENT_PATTERNS + _foreign("payment")),
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
    folded = _fold(text or "")
    for reason, in_names, pattern in _RULES:
        if name and not in_names:
            continue
        match = pattern.search(folded)
        if match and not any(p.startswith(reason) for p in problems):
            shown = f" ({match.group().strip()!r}); report only the figures" if quote else ""
            problems.append(reason + shown)
    return problems


def is_safe(text: str) -> bool:
    return not content_problems(text)


__all__ = [
    "CREDENTIAL_PATTERNS",
    "FOREIGN_TERMS",
    "INSTRUCTION_PATTERNS",
    "PAYMENT_PATTERNS",
    "content_problems",
    "is_safe",
]
