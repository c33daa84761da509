"""Notify loses no alert to a SIGKILL: pending mail goes out after a restart, exactly once.

A crash between sending and recording is the one place a mail can go twice (at-least-once);
the copies carry the same Message-ID so a mail client can fold them.
"""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cimis_contracts.notify import NotificationDeliveredV1
from tests.integration.test_notify_delivery import (
    SmtpServer,
    notify_db,
    notify_process,
    pending_deliveries,
    put_agent,
    query,
    staff_token,
    unique_agent,
    wait_for,
)
from tests.support.processes import publish
from tests.unit.notify.builders import envelope, team_accepted, threshold_crossed

pytestmark = [pytest.mark.kafka, pytest.mark.reliability, pytest.mark.slow]

RECOVERY_TIMEOUT = 90.0


def email_attempts(db_path: Path, recipient: str) -> list[tuple[str, int]]:
    rows = query(
        db_path,
        "SELECT status, attempts FROM deliveries JOIN notifications n ON n.id = notification_id"
        " WHERE channel = 'email' AND n.recipient = ?",
        recipient,
    )
    return [(str(status), int(attempts)) for status, attempts in rows]


async def test_mail_pending_while_smtp_is_down_survives_a_kill_and_goes_out_once(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    smtp = SmtpServer()  # not started: the mail server is down when the alerts come in
    agent_id, address = unique_agent()
    teams = [f"team-{uuid.uuid4().hex[:12]}" for _ in range(3)]
    process = notify_process(tmp_path, kafka_bootstrap, smtp.port)
    token = staff_token(process)
    db = notify_db(tmp_path)
    try:
        async with process:
            await put_agent(process, token, agent_id, address)
            now = datetime.now(UTC)
            await publish(
                kafka_bootstrap,
                *[envelope(team_accepted(t, agent_id=agent_id), at=now) for t in teams],
                *[envelope(threshold_crossed(t), at=now) for t in teams],
            )

            def all_six_failing_once() -> bool:
                attempts = email_attempts(db, agent_id)
                return len(attempts) == 6 and all(a >= 1 for _, a in attempts)

            await wait_for(all_six_failing_once, "six emails retried against the dead server")
            assert await process.kill() == -signal.SIGKILL
            assert pending_deliveries(db, agent_id) == 6

            smtp.start()
            await process.start()

            def all_mailed() -> bool:
                return pending_deliveries(db, agent_id) == 0 and len(smtp.to(address)) >= 6

            await wait_for(all_mailed, "all six mails after the restart", RECOVERY_TIMEOUT)
        copies = Counter(m.notification_id for m in smtp.to(address))
        notifications = {
            n for (n,) in query(db, "SELECT id FROM notifications WHERE recipient = ?", agent_id)
        }
        assert set(copies) == notifications
        assert len(notifications) == 6
        assert set(copies.values()) == {1}, copies
        assert {s for s, _ in email_attempts(db, agent_id)} == {"delivered"}
    finally:
        smtp.stop()


async def test_a_kill_between_send_and_record_resends_the_same_message_once_more(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    smtp = SmtpServer()
    smtp.start()
    agent_id, address = unique_agent()
    team_id = f"team-{uuid.uuid4().hex[:12]}"
    process = notify_process(
        tmp_path, kafka_bootstrap, smtp.port, CIMIS_CRASH_POINT="notify.after_send:email"
    )
    token = staff_token(process)
    db = notify_db(tmp_path)
    try:
        async with process:
            await put_agent(process, token, agent_id, address)
            await publish(
                kafka_bootstrap,
                envelope(team_accepted(team_id, agent_id=agent_id), at=datetime.now(UTC)),
            )

            assert await process.wait_exit(timeout=60) == -signal.SIGKILL
            [first] = smtp.to(address)
            assert email_attempts(db, agent_id) == [("pending", 0)], "sent, but not recorded"

            del process.env["CIMIS_CRASH_POINT"]
            await process.start()
            # The dead run's claim (DELIVERY_CLAIM_SECONDS) must lapse before anyone resends.
            await wait_for(
                lambda: pending_deliveries(db, agent_id) == 0, "the resend", RECOVERY_TIMEOUT
            )

        copies = smtp.to(address)
        assert len(copies) == 2
        assert {m.message["Message-ID"] for m in copies} == {first.message["Message-ID"]}
        assert email_attempts(db, agent_id) == [("delivered", 1)]
        published = query(
            db,
            "SELECT count(*) FROM outbox WHERE event_type = ? AND payload LIKE ?",
            NotificationDeliveredV1.TYPE,
            f'%"recipient":"{agent_id}"%"channel":"email"%',
        )
        assert published == [(1,)]
    finally:
        smtp.stop()
