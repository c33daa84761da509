"""The CI stand-in for the apache/kafka image's start: the same KAFKA_* environment becomes
server.properties, CLUSTER_ID formats an empty log directory once, then the broker runs as PID 1.

The official image maps ``KAFKA_FOO_BAR`` to ``foo.bar`` (``__`` to ``_``, ``___`` to ``-``)
for every variable but the JVM's own; so does this, so docker-compose.yml configures both alike.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

KAFKA_HOME = Path("/opt/kafka")
CONFIG = KAFKA_HOME / "config" / "server.properties"
LOG4J = KAFKA_HOME / "config" / "log4j2.properties"
# Read by the start scripts, not the broker (as in the official image).
NOT_BROKER_SETTINGS = {
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_JMX_HOSTNAME",
    "KAFKA_JMX_PORT",
}


def property_name(variable: str) -> str:
    """``KAFKA_LISTENER_NAME_CLIENT_SASL__X___Y`` -> ``listener.name.client.sasl_x-y``."""
    name = variable.removeprefix("KAFKA_")
    name = name.replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")
    return name.lower()


def escape(value: str) -> str:
    # java.util.Properties: a backslash escapes, a line break would end the value.
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def server_properties(environment: dict[str, str]) -> str:
    settings = {
        property_name(key): value
        for key, value in sorted(environment.items())
        if key.startswith("KAFKA_") and key not in NOT_BROKER_SETTINGS
    }
    return "".join(f"{key}={escape(value)}\n" for key, value in settings.items())


def java(main_class: str, *args: str, heap: str) -> list[str]:
    return [
        "java",
        *shlex.split(heap),
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J}",
        *shlex.split(os.environ.get("KAFKA_OPTS", "")),
        "-cp",
        f"{KAFKA_HOME}/libs/*",
        main_class,
        *args,
    ]


def main() -> None:
    cluster_id = os.environ.get("CLUSTER_ID")
    if not cluster_id:
        sys.exit("CLUSTER_ID is not set: the broker's log directory cannot be formatted")
    CONFIG.write_text(server_properties(dict(os.environ)))
    CONFIG.chmod(0o600)  # it holds the SASL passwords
    # --ignore-formatted: a log directory from an earlier start keeps its data.
    format_command = java(
        "kafka.tools.StorageTool",
        "format",
        "--ignore-formatted",
        "-t",
        cluster_id,
        "-c",
        str(CONFIG),
        heap="-Xmx256m",
    )
    subprocess.run(format_command, check=True)
    broker = java("kafka.Kafka", str(CONFIG), heap=os.environ.get("KAFKA_HEAP_OPTS", "-Xmx1g"))
    # exec: the JVM becomes PID 1 and its shutdown hook handles the SIGTERM of `stop`.
    os.execvp(broker[0], broker)  # noqa: S606 (a fixed program, arguments from the environment)


if __name__ == "__main__":
    main()
