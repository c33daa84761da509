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
from cimis_chassis.service_host import host_of
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.domain.blueprints import PUBLISHED, Blueprint
from services.outcomes.domain.catalogue import Search, found
from services.outcomes.domain.costs import cost_lines
from services.outcomes.entrypoints.atom import atom_feed
from services.outcomes.entrypoints.schemas import Id, public_blueprint
from services.outcomes.entrypoints.texts import LANGUAGES, POSITION_NAMES, TEXTS

router = APIRouter(tags=["public catalogue"])

SearchText = Annotated[str | None, Query(max_length=200)]
# The pages take what a browser sends: an over-long filter is cut, an unknown language is German.
PageText = Annotated[str | None, Query(description="As in /public/blueprints.")]
PageLang = Annotated[str | None, Query(description="`en` for English; German otherwise.")]
PAGE_TEXT_LIMIT = 200

Responses = dict[int | str, dict[str, Any]]
PROBLEM: dict[str, Any] = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}
INVALID: Responses = {
    422: {"description": "A filter or id is invalid; `type` says which."} | PROBLEM
}
MISSING: Responses = {404: {"description": "No published blueprint has this id."} | PROBLEM}
MISSING_PAGE: Responses = {
    404: {
        "description": "No published blueprint has this id: a page that says so.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


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


async def _published(request: Request) -> tuple[list[Blueprint], dict[str, dict[str, int]]]:
    async with host_of(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        published = await queries.published()
        costs = await queries.costs([b.team_id for b in published])
    return published, costs


@router.get("/public/blueprints", responses=INVALID)
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
    now = host_of(request).clock.now()
    return AtomResponse(atom_feed(newest, base_url=base_url, now=now))


@router.get("/public/blueprints/{blueprint_id}", responses=INVALID | MISSING)
async def public_blueprint_by_id(blueprint_id: Id, request: Request) -> dict[str, Any]:
    found_one = await _one_published(request, blueprint_id)
    if found_one is None:
        raise Problem(404, "not-found", f"blueprint {blueprint_id} is not in the catalogue")
    blueprint, approved = found_one
    return public_blueprint(blueprint, approved)


@router.get("/katalog", response_class=HTMLResponse)
async def catalogue_page(
    request: Request,
    q: PageText = None,
    district: PageText = None,
    sector: PageText = None,
    tool: PageText = None,
    lang: PageLang = None,
) -> HTMLResponse:
    """The catalogue with its search form (German; `?lang=en` for English)."""
    language = _language(lang)
    published, _ = await _published(request)
    search = Search(*(_clipped(v) for v in (q, district, sector, tool)))
    every = found(published, Search())
    template = PAGES[language].get_template("catalogue.html.j2")
    page = template.render(
        **_frame(request, language),
        search=search,
        items=found(published, search),
        districts=sorted(
            {(b.district_code or b.district, b.district) for b in every if b.district},
            key=lambda d: d[1],
        ),
        sectors=sorted({b.content.sector for b in every}),
        tools=sorted({t for b in every for t in b.content.tools}),
    )
    return HTMLResponse(page)


@router.get("/katalog/{blueprint_id}", response_class=HTMLResponse, responses=MISSING_PAGE)
async def blueprint_page(
    blueprint_id: str, request: Request, lang: PageLang = None
) -> HTMLResponse:
    """One published blueprint (German; `?lang=en` for English)."""
    language = _language(lang)
    pages = PAGES[language]
    found_one = await _one_published(request, blueprint_id)
    if found_one is None:
        missing = pages.get_template("missing.html.j2").render(**_frame(request, language))
        return HTMLResponse(missing, status_code=404)
    blueprint, approved = found_one
    lines = cost_lines(approved)
    page = pages.get_template("blueprint.html.j2").render(
        **_frame(request, language),
        b=blueprint,
        costs=lines,
        total=sum(line.approved_cents for line in lines),
        positions=POSITION_NAMES[language],
    )
    return HTMLResponse(page)


async def _one_published(
    request: Request, blueprint_id: str
) -> tuple[Blueprint, dict[str, int]] | None:
    async with host_of(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        blueprint = await queries.blueprint(blueprint_id[:100])
        # Unpublished or withdrawn: not there, as far as the public can tell.
        if blueprint is None or blueprint.status != PUBLISHED:
            return None
        costs = await queries.costs([blueprint.team_id])
    return blueprint, costs[blueprint.team_id]


def _language(asked: str | None) -> Language:
    return "en" if asked == "en" else "de"


def _clipped(value: str | None) -> str | None:
    return value[:PAGE_TEXT_LIMIT] if value else None


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
