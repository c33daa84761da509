"""Intake's outbox survives a SIGKILL around publishing and a broker outage: no event is lost."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

import httpx
import pytest

from cimis_contracts import topics
from cimis_devtools.kafka_local import LocalKafka
from tests.integration.test_intake_events_on_kafka import (
    ACCEPTED,
    events,
    has_event,
    intake_db,
    intake_process,
    pending_outbox_rows,
    staff_api,
)
from tests.support.processes import ServiceProcess, TopicReader, read_topic, read_topic_until

pytestmark = [pytest.mark.kafka, pytest.mark.reliability, pytest.mark.slow]

# A restarted relay waits for the dead one's lease (15 s) to expire before it publishes.
RECOVERY_TIMEOUT = 90.0
BROKER_START_TIMEOUT = 90.0
PENDING = "cimis_outbox_pending_rows"
PUBLISHED = "cimis_outbox_published_events_total"


async def wait_until_outbox_drained(db_path: Path, timeout: float = RECOVERY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while (pending := pending_outbox_rows(db_path)) > 0:
        assert time.monotonic() < deadline, f"{pending} outbox rows still pending after {timeout}s"
        await asyncio.sleep(0.2)


async def scrape(process: ServiceProcess) -> dict[str, float]:
    """The process's unlabelled Prometheus samples by name."""
    response = await process.wait_for_status("/metrics", 200)
    samples = {}
    for line in response.text.splitlines():
        name, _, value = line.rpartition(" ")
        if name and not line.startswith("#") and "{" not in name:
            samples[name] = float(value)
    return samples


async def wait_for_metrics(
    process: ServiceProcess, wanted: dict[str, float], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(process)
        if all(samples.get(name) == value for name, value in wanted.items()):
            return
        assert time.monotonic() < deadline, (
            f"metrics {wanted} not reached; have { {n: samples.get(n) for n in wanted} }"
        )
        await asyncio.sleep(0.2)


async def test_crash_before_publishing_team_accepted_publishes_it_once_after_restart(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    process = intake_process(
        tmp_path, kafka_bootstrap, CIMIS_CRASH_POINT=f"outbox.before_publish:{ACCEPTED}"
    )
    api = staff_api(process)
    async with process:
        team = await api.propose_team()
        await wait_until_outbox_drained(intake_db(tmp_path))  # call_opened is out of the way

        # The relay sends a commit's rows at once, so the crash may come before the answer
        # is out; the pending row below shows the acceptance was committed.
        with contextlib.suppress(httpx.RemoteProtocolError):
            response = await api.accept(team["id"])
            assert response.status_code == 200, response.text
        assert await process.wait_exit(timeout=30) == -signal.SIGKILL
        published = await read_topic(kafka_bootstrap, topics.INTAKE)
        assert events(published, subject=team["id"], type_=ACCEPTED) == []
        assert pending_outbox_rows(intake_db(tmp_path)) == 1

        del process.env["CIMIS_CRASH_POINT"]
        await process.start()

        records = await read_topic_until(
            kafka_bootstrap,
            topics.INTAKE,
            has_event(team["id"], ACCEPTED),
            timeout=RECOVERY_TIMEOUT,
            settle=2.0,
        )
        [(record, _)] = events(records, subject=team["id"], type_=ACCEPTED)
        assert record.key == team["id"].encode()
        await wait_until_outbox_drained(intake_db(tmp_path))


async def test_crash_after_publish_before_mark_republishes_the_same_event_id(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    process = intake_process(
        tmp_path, kafka_bootstrap, CIMIS_CRASH_POINT=f"outbox.after_publish:{ACCEPTED}"
    )
    api = staff_api(process)
    async with process:
        team = await api.propose_team()
        await wait_until_outbox_drained(intake_db(tmp_path))  # call_opened is out of the way

        # The relay sends a commit's rows at once, so the crash may come before the answer
        # is out; the pending row below shows the acceptance was committed.
        with contextlib.suppress(httpx.RemoteProtocolError):
            response = await api.accept(team["id"])
            assert response.status_code == 200, response.text
        assert await process.wait_exit(timeout=30) == -signal.SIGKILL
        # The broker confirmed the record before the kill, but the row was never marked.
        before_restart = events(
            await read_topic(kafka_bootstrap, topics.INTAKE), subject=team["id"], type_=ACCEPTED
        )
        assert [e.type for _, e in before_restart] == [ACCEPTED]
        assert pending_outbox_rows(intake_db(tmp_path)) == 1

        del process.env["CIMIS_CRASH_POINT"]
        await process.start()
        await wait_until_outbox_drained(intake_db(tmp_path))

        # Drained means every publish was confirmed, so reading to the end sees all copies.
        copies = events(
            await read_topic(kafka_bootstrap, topics.INTAKE), subject=team["id"], type_=ACCEPTED
        )
        assert 1 <= len(copies) <= 2, [(r.partition, r.offset) for r, _ in copies]
        assert {e.type for _, e in copies} == {ACCEPTED}
        assert {e.id for _, e in copies} == {before_restart[0][1].id}, "consumers dedupe on id"
        # Published by the restarted run (the counter restarts at zero), and the gauge agrees.
        await wait_for_metrics(
            process, {PUBLISHED: 1.0, PENDING: 0.0, "cimis_outbox_oldest_pending_age_seconds": 0.0}
        )


async def test_broker_outage_keeps_team_accepted_in_the_outbox_and_delivers_it_once(
    tmp_path: Path, kafka_broker_process: LocalKafka
) -> None:
    broker = kafka_broker_process
    process = intake_process(tmp_path, broker.bootstrap_servers)
    api = staff_api(process)
    async with process:
        team = await api.propose_team()
        await wait_until_outbox_drained(intake_db(tmp_path))  # call_opened is out of the way
        try:
            await asyncio.to_thread(broker.stop)
            await process.wait_for_status("/health/ready", 503, timeout=60)

            response = await api.accept(team["id"])

            assert response.status_code == 200, response.text
            assert pending_outbox_rows(intake_db(tmp_path)) >= 1
        finally:
            if not broker.is_running:
                await asyncio.to_thread(broker.start, BROKER_START_TIMEOUT)

        ready = await process.wait_for_status("/health/ready", 200, timeout=RECOVERY_TIMEOUT)
        assert ready.json()["checks"]["broker"] == "ok"
        await wait_until_outbox_drained(intake_db(tmp_path))
        async with TopicReader(broker.bootstrap_servers, topics.INTAKE) as reader:
            await reader.read_until(has_event(team["id"], ACCEPTED), timeout=30, settle=2.0)
            accepted = events(reader.records, subject=team["id"], type_=ACCEPTED)
        assert len(accepted) == 1, [(r.partition, r.offset, e.id) for r, e in accepted]


async def test_a_restarted_relay_waiting_for_the_dead_ones_lease_reports_the_pending_rows(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    process = intake_process(
        tmp_path, kafka_bootstrap, CIMIS_CRASH_POINT=f"outbox.before_publish:{ACCEPTED}"
    )
    api = staff_api(process)
    async with process:
        team = await api.propose_team()
        await wait_until_outbox_drained(intake_db(tmp_path))
        # The relay sends a commit's rows at once, so the crash may come before the answer
        # is out; the pending row below shows the acceptance was committed.
        with contextlib.suppress(httpx.RemoteProtocolError):
            assert (await api.accept(team["id"])).status_code == 200
        assert await process.wait_exit(timeout=30) == -signal.SIGKILL
        del process.env["CIMIS_CRASH_POINT"]
        await process.start()
        # The killed relay's lease lives 15 s; the restarted one waits it out.
        await asyncio.sleep(2.0)  # several relay rounds; the gauges refresh once a second

        samples = await scrape(process)

        # Read after the scrape: still pending now means it was pending when scraped.
        assert pending_outbox_rows(intake_db(tmp_path)) == 1, "lease expired too soon to tell"
        assert samples.get(PENDING) == 1.0
        assert samples.get("cimis_outbox_oldest_pending_age_seconds", 0.0) > 0.0
