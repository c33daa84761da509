"""Kafka topic names: one per producing service, and one dead-letter topic per consumer."""

INTAKE = "cimis.intake.v1"
BUDGET = "cimis.budget.v1"
MILESTONES = "cimis.milestones.v1"
NOTIFY = "cimis.notify.v1"
OUTCOMES = "cimis.outcomes.v1"

SERVICE_TOPICS = (INTAKE, BUDGET, MILESTONES, NOTIFY, OUTCOMES)
DEFAULT_PARTITIONS = 6

# The CloudEvents ``source`` of the one service allowed to write each platform topic.
OWNERS: dict[str, str] = {
    INTAKE: "cimis/intake",
    BUDGET: "cimis/budget",
    MILESTONES: "cimis/milestones",
    NOTIFY: "cimis/notify",
    OUTCOMES: "cimis/outcomes",
}

# The topics each consuming service reads: its subscriptions and its Kafka read permissions
# (ACLs) both come from here.
CONSUMES: dict[str, tuple[str, ...]] = {
    "intake": (BUDGET, NOTIFY),
    "budget": (INTAKE, MILESTONES),
    "milestones": (INTAKE, BUDGET),
    "notify": (INTAKE, BUDGET, MILESTONES, OUTCOMES),
    "outcomes": (INTAKE, BUDGET, MILESTONES),
}


def owned_topic(service: str) -> str | None:
    """The topic ``service`` writes, if it publishes."""
    owner = f"cimis/{service}"
    return next((topic for topic, source in OWNERS.items() if source == owner), None)


def dead_letter_topic(consumer: str) -> str:
    return f"cimis.{consumer}.dlq"


def all_topics(consumers: tuple[str, ...] = tuple(CONSUMES)) -> dict[str, int]:
    """Every topic the platform uses, with its partition count."""
    topics = {name: DEFAULT_PARTITIONS for name in SERVICE_TOPICS}
    topics.update({dead_letter_topic(c): 1 for c in consumers})
    return topics
