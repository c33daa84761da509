"""What a weekly digest says: budget use, milestones due within 14 days or overdue, expenses
waiting; nothing to say means no digest. Rendered in German and English."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest import (
    DONE,
    OPEN,
    REPORTED,
    WEEKLY_DIGEST,
    Digest,
    TeamBudget,
    TrackedMilestone,
    WaitingExpense,
    build_digest,
)
from services.notify.domain.formatting import Language
from tests.unit.notify.builders import NOW
from tests.unit.notify.test_templates import ENGLISH_ONLY_WORDS, WORD

TODAY = date(2025, 3, 10)  # a Monday
APP = TeamContact(team_id="t-app", call_id="c-1", title="Terminbuchung 2.0", agent_id="anna")
SHOP = TeamContact(team_id="t-shop", call_id="c-1", title="Hofladen online", agent_id="anna")


def milestone(
    ident: str, due: date, status: str = OPEN, team: str = "t-app", key: str = "prototype"
) -> TrackedMilestone:
    # The call's plan titles it in English: the digest names it in the reader's language.
    return TrackedMilestone(ident, team, key, f"Milestone {ident}", due, status)


def expense(ident: str, cents: int, team: str = "t-app") -> WaitingExpense:
    return WaitingExpense(ident, team, cents, NOW)


def digest(**facts: Any) -> Digest:
    fields: dict[str, Any] = {
        "week": "2025-W11",
        "today": TODAY,
        "teams": [APP],
        "budgets": {"t-app": TeamBudget("t-app", 45_000_00, 12_345_67)},
        "milestones": [],
        "expenses": [],
    }
    return build_digest(**(fields | facts))


class TestContent:
    def test_due_soon_is_today_and_the_next_fourteen_days(self) -> None:
        found = digest(
            milestones=[
                milestone("yesterday", date(2025, 3, 9)),
                milestone("today", TODAY),
                milestone("day-14", date(2025, 3, 24)),
                milestone("day-15", date(2025, 3, 25)),
            ]
        )

        [team] = found.teams
        assert [m.milestone_id for m in team.due] == ["today", "day-14"]
        assert [m.milestone_id for m in team.overdue] == ["yesterday"]
        assert found.window_end == date(2025, 3, 24)

    def test_done_and_reported_milestones_are_neither_due_nor_overdue(self) -> None:
        found = digest(
            milestones=[
                milestone("waived", date(2025, 3, 1), DONE),
                milestone("reported", date(2025, 3, 1), REPORTED),
                milestone("completed", date(2025, 3, 12), DONE),
            ]
        )

        assert (found.teams[0].due, found.teams[0].overdue) == ((), ())
        assert not found.has_news

    def test_waiting_expenses_are_counted_and_summed_per_team(self) -> None:
        found = digest(
            teams=[APP, SHOP],
            expenses=[
                expense("e-1", 1_000_00),
                expense("e-2", 234_56),
                expense("e-3", 5, "t-shop"),
            ],
        )

        app, shop = found.teams[1], found.teams[0]  # by title
        assert (app.title, app.waiting_count, app.waiting_cents) == (
            "Terminbuchung 2.0",
            2,
            1_234_56,
        )
        assert (shop.waiting_count, shop.waiting_cents) == (1, 5)
        assert found.has_news

    def test_budget_use_is_a_whole_percent_rounded_down(self) -> None:
        [team] = digest().teams

        assert (team.allocated_cents, team.approved_cents, team.percent) == (
            45_000_00,
            12_345_67,
            27,
        )

    def test_a_team_without_allocation_shows_no_percent(self) -> None:
        [team] = digest(budgets={}).teams

        assert (team.allocated_cents, team.percent) == (0, None)

    def test_closed_budgets_and_withdrawn_teams_are_left_out(self) -> None:
        found = digest(
            teams=[APP, SHOP],
            budgets={
                "t-app": TeamBudget("t-app", 45_000_00, closed=True),
                "t-shop": TeamBudget("t-shop", withdrawn=True),
            },
            expenses=[expense("e-1", 100), expense("e-2", 100, "t-shop")],
        )

        assert found.teams == ()
        assert not found.has_news

    def test_budget_use_alone_is_nothing_to_say(self) -> None:
        assert digest().teams
        assert not digest().has_news

    def test_an_agent_without_teams_has_nothing_to_say(self) -> None:
        assert not digest(teams=[], budgets={}).has_news


RENDERER = TemplateRenderer()
FULL = digest(
    teams=[APP, SHOP],
    milestones=[
        milestone("late", date(2025, 3, 3), key="workshop"),
        milestone("soon", date(2025, 3, 14), key="prototype"),
        milestone("shop", date(2025, 3, 20), team="t-shop"),
    ],
    expenses=[expense("e-1", 1_000_00), expense("e-2", 234_56), expense("e-3", 99_00, "t-shop")],
)


def render(language: Language) -> tuple[str, str]:
    return RENDERER.render_kind(
        WEEKLY_DIGEST, FULL.facts(), language, recipient_name="Sabine Rösner", salutation="Frau"
    )


class TestRendering:
    def test_in_german(self) -> None:
        title, body = render("de")

        assert title == "Ihr Wochenüberblick, KW 11/2025"
        lines = body.splitlines()
        assert lines[0] == "Guten Tag Frau Rösner,"
        assert "„Terminbuchung 2.0“" in lines
        assert "- Budget: 12.345,67 € von 45.000,00 € als förderfähig anerkannt (27 %)" in lines
        assert "- Überfällig: Co-Creation-Workshop, fällig am 03.03.2025" in lines
        assert "- Bald fällig: Prototyp am 14.03.2025" in lines
        assert "- 2 Belege warten auf Prüfung: zusammen 1.234,56 €" in lines
        assert "- 1 Beleg wartet auf Prüfung: 99,00 €" in lines
        assert "- Budget: noch nicht zugewiesen" in lines  # the shop has no allocation yet
        assert "bis einschließlich 24.03.2025" in body
        assert body.endswith("Ihr CIMIS-Programmbüro")

    def test_a_german_digest_has_no_english_in_it(self) -> None:
        title, body = render("de")
        said = {w for w in WORD.findall(f"{title}\n{body}") if w.lower() in ENGLISH_ONLY_WORDS}
        assert not said
        assert "Milestone" not in body

    def test_in_english(self) -> None:
        title, body = render("en")

        assert title == "Your weekly digest, week 11 of 2025"
        lines = body.splitlines()
        assert lines[0] == "Dear Ms Rösner,"
        assert "- Budget: EUR 12,345.67 of EUR 45,000.00 approved as fundable (27 %)" in lines
        assert "- Overdue: Co-creation workshop, due on 3 March 2025" in lines
        assert "- 2 expenses wait for review: EUR 1,234.56 in total" in lines
        assert body.endswith("Your CIMIS programme office")

    @pytest.mark.parametrize("language", ["de", "en"])
    def test_teams_are_separated_by_one_blank_line(self, language: Language) -> None:
        _, body = render(language)
        assert "\n\n\n" not in body
