"""Text from outside: control characters refused, comparison keys, bounded echoes in messages.

Two strings that look the same to the staff typing them ("RE-1", "re‐1" with a Unicode
hyphen, "RE-1" with a zero-width space) must compare equal, or a uniqueness rule is
sidestepped by retyping. ``comparison_key`` gives that equality; what is shown keeps the
spelling that was entered.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Line breaks and tabs belong in paragraphs; every other C0/C1 control (NUL, ESC, DEL…) is
# refused in every text field: databases, terminals and CSV readers treat them specially.
_PARAGRAPH_CONTROLS = frozenset("\n\r\t")
# U+2212 MINUS SIGN is a math symbol (Sm), not dash punctuation (Pd), yet reads as a hyphen.
_EXTRA_DASHES = frozenset("\u2212")

ECHO_LIMIT = 60
MAX_IDENT_KEY_CHARS = 200


def _first_refused(text: str, allowed: frozenset[str]) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        # Cc: control characters; Cs: lone surrogates, which no database can store as UTF-8.
        if category in ("Cc", "Cs") and char not in allowed:
            return char
    return None


def _refuse(text: str, allowed: frozenset[str]) -> str:
    char = _first_refused(text, allowed)
    if char is not None:
        what = "control character" if unicodedata.category(char) == "Cc" else "lone surrogate"
        raise ValueError(f"must not contain a {what} (found U+{ord(char):04X})")
    return text


def refuse_controls(text: str) -> str:
    """Return ``text`` unchanged, or raise ``ValueError`` if it holds a control character."""
    return _refuse(text, frozenset())


def refuse_controls_but_line_breaks(text: str) -> str:
    """Like ``refuse_controls``, but line breaks and tabs are allowed (free-text paragraphs)."""
    return _refuse(text, _PARAGRAPH_CONTROLS)


def _ascii_dashes(text: str) -> str:
    return "".join(
        "-" if unicodedata.category(c) == "Pd" or c in _EXTRA_DASHES else c for c in text
    )


def _without_format_characters(text: str) -> str:
    # Cf: zero-width space and joiners, soft hyphen, BOM, bidirectional overrides.
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def comparison_key(text: str) -> str:
    """The form under which two spellings of one identifier compare equal.

    Format characters (zero-width space, soft hyphen…) are dropped and Unicode dashes become
    ``-``, then NFKC folds compatibility forms (full-width letters, ligatures) and casefold
    ignores case; runs of whitespace become one space. Store and compare this; show the input.
    """
    if text.isascii():
        # ASCII has no format characters, no dash but "-" and nothing NFKC changes: only
        # case and whitespace are left to fold. Every consumed event's ids come this way.
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKC", _ascii_dashes(_without_format_characters(text)))
    # NFKC can yield new dashes (U+FE58 becomes an em dash) and casefold can denormalise.
    folded = unicodedata.normalize("NFKC", _ascii_dashes(folded).casefold())
    return " ".join(folded.split())


def normalise_ident(text: str) -> str:
    """An id as the services store and compare it: the comparison key of ``text``.

    Ids the services issue are lower-case already, so they pass through unchanged.
    """
    refuse_controls(text)
    key = comparison_key(text)
    if not key:
        raise ValueError("must not be empty")
    if len(key) > MAX_IDENT_KEY_CHARS:
        # NFKC may expand a character into many (U+FDFA into 18); columns hold 200.
        raise ValueError(f"is longer than {MAX_IDENT_KEY_CHARS} characters once normalised")
    return key


def same_ident(a: str, b: str) -> bool:
    """Whether two ids name the same thing (an agent's principal and a team's agent id)."""
    return comparison_key(a) == comparison_key(b)


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most ``limit`` characters of user input, for echoing it back in a message."""
    return text if len(text) <= limit else text[:limit] + "…"


# The same rules as JSON Schema patterns (ECMA-262), so that each service's OpenAPI says which
# strings it takes. Cc is exactly U+0000-U+001F and U+007F-U+009F; lone surrogates (Cs) are no
# Unicode scalar values, so no pattern needs to name them.
CONTROLS = r"\u0000-\u001F\u007F-\u009F"
"""The control characters (Cc), as the inside of a JSON Schema / Python character class."""
_CONTROLS = CONTROLS
_CONTROLS_BUT_LINE_BREAKS = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
NO_CONTROLS_PATTERN = f"^[^{_CONTROLS}]*$"
LINE_BREAKS_ONLY_PATTERN = f"^[^{_CONTROLS_BUT_LINE_BREAKS}]*$"
# An id also needs something besides whitespace, or its comparison key is empty.
IDENT_PATTERN = f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}][^{_CONTROLS}]*$"


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentedValidator(AfterValidator):
    """An after-validator whose rule also appears in the JSON schema, as a ``pattern``.

    A string that already has a pattern (an e-mail address, a URL) gets this one as an
    ``allOf`` entry: JSON Schema requires both, as the validators do.
    """

    pattern: str = ""
    description: str = ""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        if schema.get("type") != "string":
            return schema
        if "pattern" not in schema:
            schema["pattern"] = self.pattern
        elif schema["pattern"] != self.pattern:
            schema.setdefault("allOf", []).append({"pattern": self.pattern})
        if self.description and "description" not in schema:
            schema["description"] = self.description
        return schema


def matching(pattern: str, what: str) -> DocumentedValidator:
    """Refuses control characters, then any text ``pattern`` does not match (in full).

    For a field with a shape of its own (an e-mail address, a URL): ``pattern`` must exclude
    control characters itself (use :data:`CONTROLS`), so that the schema states one pattern
    rather than two a generator has to satisfy at once.
    """
    compiled = re.compile(pattern)

    def check(text: str) -> str:
        refuse_controls(text)
        if compiled.fullmatch(text) is None:
            raise ValueError(f"is not {what}")
        return text

    return DocumentedValidator(check, pattern)


# Validators to put after a field's length constraints, so a huge input is refused by its
# length before it is scanned: ``Annotated[str, Field(max_length=300), NO_CONTROLS]``.
NO_CONTROLS = DocumentedValidator(refuse_controls, NO_CONTROLS_PATTERN)
"""Refuses control characters: names, titles, numbers, addresses."""

LINE_BREAKS_ONLY = DocumentedValidator(refuse_controls_but_line_breaks, LINE_BREAKS_ONLY_PATTERN)
"""Refuses control characters other than line breaks and tabs: free-text paragraphs."""

AS_IDENT = DocumentedValidator(
    normalise_ident,
    IDENT_PATTERN,
    "Compared in any case and Unicode form (NFKC, case-folded, runs of whitespace as one).",
)
"""Refuses control characters, then stores the id as its comparison key."""

EMAIL = matching(
    rf"^[^@\s{CONTROLS}]+@[^@\s{CONTROLS}]+\.[^@\s{CONTROLS}]+$",
    "an e-mail address such as name@example.org",
)
"""An e-mail address as far as a form can tell: one ``@``, a dot after it, no spaces."""
