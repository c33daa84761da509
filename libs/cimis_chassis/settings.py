"""Service settings read from the environment; a missing secret fails start-up loudly."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StartupError(RuntimeError):
    """Configuration that makes it unsafe to start; the message says what to fix."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    service_name: str = "cimis"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = ""
    cimis_api_keys_file: Path = Path("var/api-keys.json")
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    log_json: bool = True
    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    outbox_batch_size: int = Field(default=500, gt=0, le=10_000)
    var_dir: Path = Path("var")
    # Kafka consumer group; every instance of one service shares it. Empty: cimis-<service>.
    consumer_group: str = ""
    # Off only in component tests that feed events straight to the handlers.
    consume_events: bool = True
    # No contract comes near this; a larger record is poison before anyone parses it.
    max_event_bytes: int = Field(default=256 * 1024, gt=0, le=1024 * 1024)
    # A partition with lag whose committed offset has not moved for this long is stalled;
    # with a 15 s scrape the alert is seen within a minute of the stop.
    consumer_stall_seconds: float = Field(default=25.0, gt=0)

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSettings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / (self.service_name + '.db')}"
        if not self.consumer_group:
            self.consumer_group = f"cimis-{self.service_name}"
        return self

    def require_api_keys_file(self) -> Path:
        """The keys file must exist before the API serves anyone."""
        path = self.cimis_api_keys_file
        if not path.is_file():
            raise StartupError(
                f"API keys file {path} does not exist. Create a key with "
                "'cimis keys create --role admin --principal <name>' or point "
                "CIMIS_API_KEYS_FILE at an existing file."
            )
        return path
