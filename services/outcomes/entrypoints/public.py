"""The public catalogue, no key needed: published blueprints as JSON, Atom and HTML pages.

Only published blueprints, and of their contacts only those who consented, ever leave here.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cimis_chassis.localised import Language, format_day, format_eur
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.domain.blueprints import Blueprint
from services.outcomes.domain.catalogue import Search, found
from services.outcomes.domain.costs import cost_lines
from services.outcomes.entrypoints.atom import atom_feed
from services.outcomes.entrypoints.schemas import Id, public_blueprint
from services.outcomes.entrypoints.texts import LANGUAGES, POSITION_NAMES, TEXTS

router = APIRouter(tags=["public catalogue"])

SearchText = Annotated[str | None, Query(max_length=200)]
Lang = Annotated[Language, Query(description="The page's language; German by default.")]


def _environment(language: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["eur"] = partial(format_eur, language=language)
    env.filters["day"] = lambda moment: format_day(moment.date(), language)
    return env


PAGES = {language: _environment(language) for language in LANGUAGES}


class AtomResponse(Response):
    media_type = "application/atom+xml"


def _host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


async def _published(request: Request) -> tuple[list[Blueprint], dict[str, dict[str, int]]]:
    async with _host(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        published = await queries.published()
        costs = await queries.costs([b.team_id for b in published])
    return published, costs


@router.get("/public/blueprints")
async def public_blueprints(
    request: Request,
    q: SearchText = None,
    district: SearchText = None,
    sector: SearchText = None,
    tool: SearchText = None,
) -> dict[str, Any]:
    """Published blueprints matching every given filter, newest first. `q` searches the
    words of title, challenge, solution, lessons, tools and sector; `district` takes a name
    or the official key; all in any case and Unicode form."""
    published, costs = await _published(request)
    items = found(published, Search(q, district, sector, tool))
    return {"items": [public_blueprint(b, costs[b.team_id]) for b in items]}


@router.get("/public/blueprints.atom", response_class=AtomResponse)
async def public_feed(request: Request) -> AtomResponse:
    published, _ = await _published(request)
    newest = found(published, Search())[:50]
    base_url = str(request.base_url).rstrip("/")
    now = _host(request).clock.now()
    return AtomResponse(atom_feed(newest, base_url=base_url, now=now))


@router.get("/public/blueprints/{blueprint_id}")
async def public_blueprint_by_id(blueprint_id: Id, request: Request) -> dict[str, Any]:
    blueprint, approved = await _one_published(request, blueprint_id)
    return public_blueprint(blueprint, approved)


@router.get("/katalog", response_class=HTMLResponse)
async def catalogue_page(
    request: Request,
    q: SearchText = None,
    district: SearchText = None,
    sector: SearchText = None,
    tool: SearchText = None,
    lang: Lang = "de",
) -> HTMLResponse:
    published, _ = await _published(request)
    search = Search(q or None, district or None, sector or None, tool or None)
    every = found(published, Search())
    page = (
        PAGES[lang]
        .get_template("catalogue.html.j2")
        .render(
            **_frame(request, lang),
            search=search,
            items=found(published, search),
            districts=sorted(
                {(b.district_code or b.district, b.district) for b in every if b.district},
                key=lambda d: d[1],
            ),
            sectors=sorted({b.content.sector for b in every}),
            tools=sorted({t for b in every for t in b.content.tools}),
        )
    )
    return HTMLResponse(page)


@router.get("/katalog/{blueprint_id}", response_class=HTMLResponse)
async def blueprint_page(blueprint_id: Id, request: Request, lang: Lang = "de") -> HTMLResponse:
    blueprint, approved = await _one_published(request, blueprint_id)
    lines = cost_lines(approved)
    page = (
        PAGES[lang]
        .get_template("blueprint.html.j2")
        .render(
            **_frame(request, lang),
            b=blueprint,
            costs=lines,
            total=sum(line.approved_cents for line in lines),
            positions=POSITION_NAMES[lang],
        )
    )
    return HTMLResponse(page)


async def _one_published(request: Request, blueprint_id: str) -> tuple[Blueprint, dict[str, int]]:
    async with _host(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        blueprint = await queries.blueprint(blueprint_id)
        # Unpublished or withdrawn: not there, as far as the public can tell.
        if blueprint is None or blueprint.published_at is None or blueprint.status != "published":
            raise Problem(404, "not-found", f"blueprint {blueprint_id} is not in the catalogue")
        costs = await queries.costs([blueprint.team_id])
    return blueprint, costs[blueprint.team_id]


def _frame(request: Request, lang: Language) -> dict[str, Any]:
    """What every page needs: its words and the link to the same page in the other language."""
    other: Language = "en" if lang == "de" else "de"
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    if other != "de":
        params["lang"] = other
    query = urlencode(params)
    return {
        "lang": lang,
        "other_lang": other,
        "t": TEXTS[lang],
        "switch_href": request.url.path + (f"?{query}" if query else ""),
        "lang_query": "" if lang == "de" else f"?lang={lang}",
    }
