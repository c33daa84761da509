"""A blueprint's life: submitted by the team's agent or staff, reviewed and published by
staff; each step stored, audited and announced on ``cimis.outcomes.v1``."""

from __future__ import annotations

import uuid

from cimis_chassis.audit import snapshot
from cimis_contracts.outcomes import (
    BlueprintChangesRequestedV1,
    BlueprintPublishedV1,
    BlueprintSubmittedV1,
    BlueprintWithdrawnV1,
)
from services.outcomes.app.commands import (
    PublishBlueprint,
    RequestChanges,
    SubmitBlueprint,
    WithdrawBlueprint,
)
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.blueprints import Blueprint
from services.outcomes.domain.errors import Forbidden, NotFound


async def submit_blueprint(uow: OutcomesUnitOfWork, cmd: SubmitBlueprint) -> Blueprint:
    team = await uow.teams.get(cmd.team_id)
    if team is None:
        raise NotFound("team", cmd.team_id)
    if cmd.actor.is_agent and cmd.actor.name != team.agent_id:
        raise Forbidden("forbidden", "Agents may only submit the blueprints of their own teams.")
    existing = await uow.blueprints.of_team(team.id, lock=True)
    now = uow.clock.now()
    blueprint = rules.submit(
        team,
        existing,
        cmd.content,
        blueprint_id=str(uuid.uuid4()),
        by=cmd.actor.name,
        now=now,
    )
    if existing is None:
        await uow.blueprints.add(blueprint)
    else:
        await uow.blueprints.put(blueprint)
    await uow.audit(
        "blueprint.submitted",
        "blueprint",
        blueprint.id,
        before=snapshot(existing) if existing else None,
        after=snapshot(blueprint),
    )
    await uow.emit(
        BlueprintSubmittedV1(
            **_identity(blueprint),
            version=blueprint.version,
            submitted_by=blueprint.submitted_by,
            submitted_at=blueprint.submitted_at,
        )
    )
    return blueprint


async def request_changes(uow: OutcomesUnitOfWork, cmd: RequestChanges) -> Blueprint:
    blueprint = await _locked(uow, cmd.blueprint_id)
    asked = rules.request_changes(blueprint, comment=cmd.comment, now=uow.clock.now())
    await _store(uow, "blueprint.changes_requested", blueprint, asked)
    assert asked.review_comment is not None
    await uow.emit(
        BlueprintChangesRequestedV1(
            **_identity(asked),
            comment=asked.review_comment,
            requested_by=cmd.by,
            requested_at=asked.updated_at,
        )
    )
    return asked


async def publish_blueprint(uow: OutcomesUnitOfWork, cmd: PublishBlueprint) -> Blueprint:
    blueprint = await _locked(uow, cmd.blueprint_id)
    published = rules.publish(blueprint, now=uow.clock.now())
    if published is blueprint:
        return blueprint
    await _store(uow, "blueprint.published", blueprint, published)
    assert published.published_at is not None
    await uow.blueprints.happened(published, rules.PUBLISHED, published.published_at)
    await uow.emit(
        BlueprintPublishedV1(
            **_identity(published),
            published_by=cmd.by,
            published_at=published.published_at,
        )
    )
    return published


async def withdraw_blueprint(uow: OutcomesUnitOfWork, cmd: WithdrawBlueprint) -> Blueprint:
    blueprint = await _locked(uow, cmd.blueprint_id)
    withdrawn = rules.withdraw(blueprint, reason=cmd.reason, now=uow.clock.now())
    if withdrawn is blueprint:
        return blueprint
    await _store(uow, "blueprint.withdrawn", blueprint, withdrawn)
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawal_reason is not None
    await uow.blueprints.happened(withdrawn, rules.WITHDRAWN, withdrawn.withdrawn_at)
    await uow.emit(
        BlueprintWithdrawnV1(
            **_identity(withdrawn),
            reason=withdrawn.withdrawal_reason,
            withdrawn_by=cmd.by,
            withdrawn_at=withdrawn.withdrawn_at,
        )
    )
    return withdrawn


async def _locked(uow: OutcomesUnitOfWork, blueprint_id: str) -> Blueprint:
    # Locked: two reviewers acting at once take turns instead of both deciding on stale state.
    blueprint = await uow.blueprints.get(blueprint_id, lock=True)
    if blueprint is None:
        raise NotFound("blueprint", blueprint_id)
    return blueprint


async def _store(uow: OutcomesUnitOfWork, action: str, before: Blueprint, after: Blueprint) -> None:
    await uow.blueprints.put(after)
    await uow.audit(
        action,
        "blueprint",
        after.id,
        before={"status": before.status},
        after={
            "status": after.status,
            "review_comment": after.review_comment,
            "withdrawal_reason": after.withdrawal_reason,
        },
    )


def _identity(blueprint: Blueprint) -> dict[str, str]:
    return {
        "blueprint_id": blueprint.id,
        "team_id": blueprint.team_id,
        "call_id": blueprint.call_id,
        "title": blueprint.content.title,
    }
