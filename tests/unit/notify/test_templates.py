"""Alert texts: German by default, English on request, EUR and Berlin times as readers expect."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import get_args

import pytest
from jinja2 import UndefinedError

from cimis_contracts.base import EventData
from cimis_contracts.milestones import MilestoneKey
from services.notify.adapters.templates import TEMPLATES, TemplateRenderer
from services.notify.domain.alerts import ALLOCATION_REFUSED, KINDS, Alert, TeamContact, alerts_for
from services.notify.domain.digest import WEEKLY_DIGEST
from services.notify.domain.formatting import (
    MILESTONE_NAMES,
    Language,
    format_day,
    format_eur,
    format_moment,
)
from tests.unit.notify.builders import (
    NOW,
    allocation_refused,
    blueprint_event,
    budget_allocated,
    expense_rejected,
    milestone_escalated,
    milestone_overdue,
    milestone_reported,
    payment_request_changed,
    plan_completed,
    spending_off_plan,
    team_accepted,
    team_reassigned,
    threshold_crossed,
    tranche_kept,
)

TEAM = TeamContact(team_id="t-1", call_id="c-1", title="Terminbuchung 2.0", agent_id="anna")
RENDERER = TemplateRenderer()
# One event of each kind that raises alerts, and the variants whose texts differ.
EVERY_ALERTING_EVENT = [
    team_accepted("t-1"),
    threshold_crossed("t-1"),
    expense_rejected("t-1"),
    milestone_overdue("t-1"),
    plan_completed("t-1"),
    allocation_refused("t-1"),
    allocation_refused("t-1", reason_code="above-team-maximum"),
    allocation_refused("t-1", reason_code="waiting-list"),
    budget_allocated("t-1"),
    milestone_reported("t-1"),
    milestone_reported("t-1", note=None, evidence_url=None),
    milestone_escalated("t-1"),
    payment_request_changed("t-1"),
    team_reassigned("t-1"),
    *(
        blueprint_event(kind, "t-1")
        for kind in ("submitted", "changes_requested", "published", "withdrawn")
    ),
    *(spending_off_plan("t-1", status=status) for status in ("behind", "ahead", "on_track")),
    *(
        spending_off_plan("t-1", status=status, spending_ends_on=date(2025, 11, 27))
        for status in ("behind", "ahead")
    ),
    tranche_kept("t-1"),
    tranche_kept("t-1", milestone_key="prototype"),
]
MILESTONE_KEYS: tuple[str, ...] = get_args(MilestoneKey)
# Every mail that names a milestone, for each of the programme's milestones; the call's plan
# titles them with their bare keys here, as a call written in English might.
EVERY_MILESTONE_MAIL = [
    event
    for key in MILESTONE_KEYS
    for event in (
        milestone_overdue("t-1", key=key, title=key),
        milestone_escalated("t-1", key=key, title=key),
        milestone_reported("t-1", key=key),
        tranche_kept("t-1", trigger=key, milestone_key=key),
    )
]
# Refusals whose codes the texts do not explain from figures: budget's own words are quoted.
UNMAPPED_REFUSALS = [
    allocation_refused("t-1", reason_code="above-team-maximum", max_team_budget_cents=None),
    allocation_refused(
        "t-1", reason_code="pot-closed", reason="The call's pot was closed by the office."
    ),
]
WORD = re.compile(r"[^\W\d_]{2,}")
TEMPLATE_CODE = re.compile(r"\{[{%#].*?[}%#]\}", re.DOTALL)


def _words_of_templates(language: Language) -> set[str]:
    """The words a language's templates say themselves (their Jinja code left out), with the
    programme's milestone names in that language."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((TEMPLATES / language).glob("*.j2"))]
    texts += [names[language] for names in MILESTONE_NAMES.values()]
    return {w.lower() for w in WORD.findall(TEMPLATE_CODE.sub(" ", "\n".join(texts)))}


# Words only the English texts use ("the", "was", "prototype", ...): none belongs in German.
ENGLISH_ONLY_WORDS = _words_of_templates("en") - _words_of_templates("de")
BUDGETS_OWN_WORDS = "Seine Begründung im englischen Wortlaut des Budgetdienstes:"


def _said_in_german(alert: Alert, text: str) -> str:
    """``text`` without what others wrote in it: ids and codes, people, links, and a refusal's
    reason quoted as budget gave it (which must then be marked as budget's English words)."""
    for key, value in alert.facts.items():
        if isinstance(value, str) and key.endswith(("_id", "_by", "_url", "_code")):
            text = text.replace(value, " ")
    if alert.kind == ALLOCATION_REFUSED and f"„{alert.facts['reason']}“" in text:
        assert BUDGETS_OWN_WORDS in text, text
        text = text.replace(f"„{alert.facts['reason']}“", " ")
    return text


class TestAmounts:
    @pytest.mark.parametrize(
        ("cents", "german", "english"),
        [
            (45_000_00, "45.000,00 €", "EUR 45,000.00"),
            (0, "0,00 €", "EUR 0.00"),
            (5, "0,05 €", "EUR 0.05"),
            (1_234_56, "1.234,56 €", "EUR 1,234.56"),
            (12_345_678_90, "12.345.678,90 €", "EUR 12,345,678.90"),
            (-2_500_00, "-2.500,00 €", "EUR -2,500.00"),
        ],
    )
    def test_eur_in_each_language(self, cents: int, german: str, english: str) -> None:
        assert format_eur(cents, "de") == german
        assert format_eur(cents, "en") == english


class TestTimes:
    def test_a_day_in_each_language(self) -> None:
        assert format_day(date(2025, 3, 4), "de") == "04.03.2025"
        assert format_day(date(2025, 3, 4), "en") == "4 March 2025"

    def test_instants_are_shown_in_berlin_winter_and_summer_time(self) -> None:
        winter = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
        summer = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)

        assert format_moment(winter, "de") == "01.02.2025, 00:30 Uhr"
        assert format_moment(summer, "de") == "01.07.2025, 12:00 Uhr"
        assert format_moment(summer, "en") == "1 July 2025, 12:00 (Berlin time)"


def render(event: EventData, language: Language, name: str | None = "Anna") -> tuple[str, str]:
    # The first alert an event raises (a waiting-list refusal: the programme office's).
    return RENDERER.render(alerts_for(event, TEAM)[0], language, recipient_name=name)


class TestGreetings:
    @pytest.mark.parametrize(
        ("language", "name", "salutation", "greeting"),
        [
            ("de", "Sabine Rösner", "Frau", "Guten Tag Frau Rösner,"),
            ("de", "Jan Meyer", "Herr", "Guten Tag Herr Meyer,"),
            ("de", "Kim Weiß", None, "Guten Tag Kim Weiß,"),
            ("de", None, None, "Guten Tag,"),
            ("en", "Sabine Rösner", "Frau", "Dear Ms Rösner,"),
            ("en", "Kim Weiß", None, "Hello Kim Weiß,"),
        ],
    )
    def test_as_a_programme_office_writes(
        self, language: Language, name: str | None, salutation: str | None, greeting: str
    ) -> None:
        alert = alerts_for(threshold_crossed("t-1"), TEAM)[0]
        _, body = RENDERER.render(alert, language, recipient_name=name, salutation=salutation)
        assert body.splitlines()[0] == greeting

    @pytest.mark.parametrize(
        "event",
        [*EVERY_ALERTING_EVENT, *EVERY_MILESTONE_MAIL, *UNMAPPED_REFUSALS],
        ids=lambda e: type(e).__name__,
    )
    def test_a_german_message_has_no_english_in_it_and_one_signature(
        self, event: EventData
    ) -> None:
        for alert in alerts_for(event, TEAM):
            title, body = RENDERER.render(alert, "de", recipient_name="Anna", salutation="Frau")
            text = _said_in_german(alert, f"{title}\n{body}")
            english = {w for w in WORD.findall(text) if w.lower() in ENGLISH_ONLY_WORDS}
            assert not english, text
            keys = [key for key in MILESTONE_KEYS if re.search(rf"\b{key}\b", text)]
            assert not keys, text
            assert body.endswith("Ihr CIMIS-Programmbüro")

    def test_the_english_word_list_knows_the_english_texts(self) -> None:
        assert {"the", "was", "of", "prototype", "final", "reason"} <= ENGLISH_ONLY_WORDS
        assert not {"team", "budget", "kick", "cimis"} & ENGLISH_ONLY_WORDS

    @pytest.mark.parametrize("key", MILESTONE_KEYS)
    def test_every_milestone_is_named_in_the_mails_language(self, key: str) -> None:
        for event in EVERY_MILESTONE_MAIL:
            if getattr(event, "key", None) != key:
                continue
            [alert] = alerts_for(event, TEAM)
            _, german = RENDERER.render(alert, "de", recipient_name=None)
            _, english = RENDERER.render(alert, "en", recipient_name=None)
            assert f"„{MILESTONE_NAMES[key]['de']}“" in german
            assert f'"{MILESTONE_NAMES[key]["en"]}"' in english

    def test_a_refusal_budget_explains_only_in_english_is_quoted_as_its_words(self) -> None:
        _, german = render(UNMAPPED_REFUSALS[1], "de", name=None)
        _, english = render(UNMAPPED_REFUSALS[1], "en", name=None)

        assert (
            "Grund: Der Budgetdienst hat die Zuweisung mit dem Code „pot-closed“ abgelehnt, für "
            "den es hier keinen deutschen Text gibt. " + BUDGETS_OWN_WORDS
        ) in german.splitlines()
        assert "„The call's pot was closed by the office.“" in german.splitlines()
        assert "in the budget service's own words:" in english


class TestRendering:
    def test_threshold_in_german(self) -> None:
        title, body = render(threshold_crossed("t-1"), "de")

        assert title == "80 % des Budgets ausgegeben: Terminbuchung 2.0"
        assert body.startswith("Guten Tag Anna,")
        assert "als förderfähig anerkannt" in body
        assert "bewilligt" not in body
        assert "36.000,00 € von 45.000,00 €" in body
        assert "04.03.2025, 11:15 Uhr" in body

    def test_threshold_in_english(self) -> None:
        title, body = render(threshold_crossed("t-1"), "en")

        assert title == "80 % of the budget spent: Terminbuchung 2.0"
        assert body.startswith("Hello Anna,")
        assert "EUR 36,000.00 of EUR 45,000.00" in body
        assert "4 March 2025, 11:15 (Berlin time)" in body

    def test_new_team_names_the_budget(self) -> None:
        title, body = render(team_accepted("t-1"), "de")

        assert title == "Neues Team: Terminbuchung 2.0"
        assert "„Terminbuchung 2.0“" in body
        assert "45.000,00 €" in body

    def test_rejected_expense_names_receipt_position_and_reason(self) -> None:
        _, german = render(expense_rejected("t-1"), "de")
        _, english = render(expense_rejected("t-1"), "en")

        assert "RE-2025-017 (Fremdleistungen)" in german
        assert "1.234,56 €" in german
        assert "Rechnung nicht auf das Unternehmen ausgestellt" in german
        assert "RE-2025-017 (external services)" in english

    def test_overdue_milestone_names_its_due_day(self) -> None:
        title, body = render(milestone_overdue("t-1"), "de")

        assert title == "Meilenstein überfällig: Prototyp (Terminbuchung 2.0)"
        assert "am 01.03.2025 fällig" in body

    def test_plan_completed(self) -> None:
        title, _ = render(plan_completed("t-1"), "en")
        assert title == "All milestones reached: Terminbuchung 2.0"

    def test_refused_allocation_for_staff_names_agent_and_amounts(self) -> None:
        title, body = render(allocation_refused("t-1"), "de", name=None)

        assert title == "Budget nicht zugewiesen: Terminbuchung 2.0"
        assert body.startswith("Guten Tag,")
        assert "Netzwerkagent/in: anna" in body
        assert "Beantragt: 45.000,00 €" in body
        assert "Im Topf verfügbar: 12.500,00 €" in body

    @pytest.mark.parametrize(
        ("code", "german"),
        [
            (
                "pot-exhausted",
                "Grund: Im Topf des Aufrufs sind nur noch 12.500,00 € frei; "
                "das Team benötigt 45.000,00 €. Es steht auf der Warteliste des Aufrufs und "
                "erhält sein Budget, sobald Geld in den Topf zurückfließt.",
            ),
            (
                "waiting-list",
                "Grund: Auf der Warteliste des Aufrufs stehen bereits früher angenommene Teams; "
                "das Team erhält sein Budget nach ihnen, in der Reihenfolge der Annahme.",
            ),
            (
                "above-team-maximum",
                "Grund: Das Teambudget von 45.000,00 € übersteigt die Obergrenze je Team von "
                "40.000,00 €.",
            ),
        ],
    )
    def test_a_refusal_is_explained_in_the_mails_language_from_its_code(
        self, code: str, german: str
    ) -> None:
        refused = allocation_refused(
            "t-1",
            reason_code=code,
            max_team_budget_cents=40_000_00,
            reason="The call's pot has 12500.00 EUR left; the team needs 45000.00 EUR.",
        )
        _, body = render(refused, "de", name=None)
        assert german in body.splitlines()
        assert "EUR" not in body
        assert "The call" not in body

    def test_without_a_name_the_greeting_is_neutral(self) -> None:
        _, german = render(plan_completed("t-1"), "de", name=None)
        _, english = render(plan_completed("t-1"), "en", name=None)

        assert german.startswith("Guten Tag,")
        assert english.startswith("Hello,")

    def test_a_reported_milestone_asks_the_office_to_confirm(self) -> None:
        [alert] = alerts_for(milestone_reported("t-1"), TEAM)
        assert alert.recipient == "staff"
        title, body = RENDERER.render(alert, "de", recipient_name=None)
        assert title == "Meilenstein zur Bestätigung: Terminbuchung 2.0"
        assert "Nachweis: https://example.org/demo" in body
        assert "nicht durch die meldende Person" in body

    def test_a_milestone_open_too_long_goes_to_the_office(self) -> None:
        [alert] = alerts_for(milestone_escalated("t-1"), TEAM)
        assert alert.recipient == "staff"
        title, body = RENDERER.render(alert, "de", recipient_name=None)
        assert title == "Meilenstein seit 15 Tagen überfällig: Terminbuchung 2.0"
        assert "war am 01.03.2025 fällig" in body
        assert "(anna)" in body

    def test_a_tranche_a_reopen_could_not_take_back_is_told_to_the_office(self) -> None:
        [alert] = alerts_for(tranche_kept("t-1"), TEAM)
        assert alert.recipient == "staff"
        title, body = RENDERER.render(alert, "de", recipient_name=None)
        assert title == "Tranche bleibt beim Team: Terminbuchung 2.0"
        assert "der Meilenstein „Co-Creation-Workshop“ des Teams" in body
        assert "des Meilensteins „Prototyp“, die auf ihn gewartet hat, über 18.000,00 €" in body
        assert "(noch frei: 4.500,00 €" in body
        assert "Das Geld bleibt beim Team." in body
        _, english = RENDERER.render(alert, "en", recipient_name=None)
        assert "The money stays with the team." in english

    def test_money_left_is_forecast_to_the_end_of_the_spending_period(self) -> None:
        behind = spending_off_plan("t-1", spending_ends_on=date(2025, 11, 27))
        _, german = render(behind, "de")
        _, english = render(behind, "en")
        assert "bis zum Ende des Ausgabezeitraums am 27.11.2025 etwa 23.000,00 €" in german
        assert "when the spending period ends on 27 November 2025." in english
        ahead = spending_off_plan("t-1", status="ahead", spending_ends_on=date(2025, 11, 27))
        assert "Der Ausgabezeitraum endet am 27.11.2025." in render(ahead, "de")[1]
        _, german = render(spending_off_plan("t-1", status="ahead", spending_ends_on=None), "de")
        # Sent before the event named the spending period's end: the plan's end it is.
        assert "Das Planende ist am 29.08.2025." in german
        _, german = render(spending_off_plan("t-1"), "de")
        assert "bis zum Planende am 29.08.2025 etwa" in german

    def test_the_agent_hears_of_a_payment_only_once_it_is_paid(self) -> None:
        assert alerts_for(payment_request_changed("t-1", status="approved"), TEAM) == []
        [alert] = alerts_for(payment_request_changed("t-1"), TEAM)
        assert alert.recipient == "anna"
        _, body = RENDERER.render(alert, "de", recipient_name="Anna")
        assert "14.875,00 € für als förderfähig anerkannte Ausgaben" in body
        assert "Wertstellung 07.03.2025" in body

    @pytest.mark.parametrize("language", ["de", "en"])
    @pytest.mark.parametrize("event", EVERY_ALERTING_EVENT, ids=lambda e: type(e).__name__)
    def test_every_kind_renders_a_one_line_title_and_a_plain_body(
        self, event: EventData, language: Language
    ) -> None:
        for alert in alerts_for(event, TEAM):
            title, body = RENDERER.render(alert, language, recipient_name="Anna")

            assert "\n" not in title
            assert "Terminbuchung 2.0" in title
            assert body
            assert "{" not in body
            assert "}" not in body
            assert "\n\n\n" not in body

    @pytest.mark.parametrize("language", ["de", "en"])
    @pytest.mark.parametrize("name", ["Anna", None])
    @pytest.mark.parametrize("kind_event", [team_accepted("t-1"), expense_rejected("t-1")])
    def test_the_greeting_stands_on_its_own_line(
        self, language: Language, name: str | None, kind_event: EventData
    ) -> None:
        _, body = render(kind_event, language, name=name)

        greeting, blank, first = body.splitlines()[:3]
        assert greeting.endswith(",")
        assert blank == ""
        assert first[0].isupper() if language == "en" else first

    def test_every_kind_has_a_template_in_both_languages(self) -> None:
        kept = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.txt.j2")}

        kinds = (*KINDS, WEEKLY_DIGEST)
        assert kept == {f"{lang}/{kind}.txt.j2" for lang in ("de", "en") for kind in kinds}

    def test_text_is_not_html_escaped(self) -> None:
        alert = Alert(
            kind="plan_completed",
            recipient="anna",
            team_id="t-1",
            facts={"team_title": "Müller & Söhne <GmbH>", "completed_at": NOW},
        )

        title, body = RENDERER.render(alert, "de", recipient_name=None)

        assert title == "Alle Meilensteine erreicht: Müller & Söhne <GmbH>"
        assert "„Müller & Söhne <GmbH>“" in body

    def test_a_missing_fact_is_an_error_not_a_blank(self) -> None:
        alert = Alert(kind="plan_completed", recipient="anna", team_id="t-1", facts={})

        with pytest.raises(UndefinedError):
            RENDERER.render(alert, "de", recipient_name=None)
