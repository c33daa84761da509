"""Renders a notification's title and body from the Jinja2 templates kept beside this module."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notify.domain.alerts import Alert
from services.notify.domain.formatting import (
    LANGUAGES,
    Language,
    format_day,
    format_eur,
    format_moment,
    greeting,
    milestone_name,
)

TEMPLATES = Path(__file__).parent / "templates"


def _milestone(key: str, title: str | None = None, *, language: Language) -> str:
    return milestone_name(key, language, title)


class TemplateRenderer:
    """One environment per language, so ``|eur``, ``|day``, ``|moment`` and ``|milestone``
    speak it."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._environments: dict[Language, Environment] = {}
        for language in LANGUAGES:
            env = Environment(
                loader=FileSystemLoader(directory / language),
                # The texts are plain text (mail body, chat message); HTML would be escaped.
                autoescape=select_autoescape(["html", "htm"]),
                # A missing fact is a bug in routing, not a blank in an agent's inbox.
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
            )
            env.filters["eur"] = partial(format_eur, language=language)
            env.filters["day"] = partial(format_day, language=language)
            env.filters["moment"] = partial(format_moment, language=language)
            env.filters["milestone"] = partial(_milestone, language=language)
            self._environments[language] = env

    def render(
        self,
        alert: Alert,
        language: Language,
        *,
        recipient_name: str | None,
        salutation: str | None = None,
    ) -> tuple[str, str]:
        """The alert's title (one line) and body in ``language``."""
        return self.render_kind(
            alert.kind, alert.facts, language, recipient_name=recipient_name, salutation=salutation
        )

    def render_kind(
        self,
        kind: str,
        facts: Mapping[str, Any],
        language: Language,
        *,
        recipient_name: str | None,
        salutation: str | None = None,
    ) -> tuple[str, str]:
        """The title and body of a notification of ``kind`` (an alert's, the weekly digest)."""
        template = self._environments[language].get_template(f"{kind}.txt.j2")
        variables: dict[str, Any] = {
            **facts,
            "recipient_name": recipient_name,
            "greeting": greeting(language, recipient_name, salutation),
        }
        context = template.new_context(variables)
        title = " ".join("".join(template.blocks["title"](context)).split())
        body = "".join(template.blocks["body"](context)).strip()
        return title, body
