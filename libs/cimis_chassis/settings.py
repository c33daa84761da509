"""Service settings read from the environment; a missing secret fails start-up loudly."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cimis_chassis.kafka_client import KafkaClientConfig, KafkaCredentialsMissing, client_config


class StartupError(RuntimeError):
    """Configuration that makes it unsafe to start; the message says what to fix."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    service_name: str = "cimis"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Who this service is to Kafka: a client file (make run writes one per principal under
    # var/kafka/clients/) or the SASL values one by one; explicit values win over the file.
    kafka_client_config: Path | None = None
    kafka_security_protocol: str | None = None
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
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
    # Off only in component tests that read the outbox themselves: no relay runs. With both
    # switched off the process never connects to Kafka.
    publish_events: bool = True
    # No contract comes near this; a larger record is poison before anyone parses it.
    max_event_bytes: int = Field(default=256 * 1024, gt=0, le=1024 * 1024)
    # A partition with lag whose committed offset has not moved for this long is stalled;
    # with a 15 s scrape the alert is seen within a minute of the stop.
    consumer_stall_seconds: float = Field(default=25.0, gt=0)
    # The HTTP edge. Bodies above this are refused (413) before anything reads them whole.
    http_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # Per API key, a token bucket: a person never notices it, a runaway script does (429).
    # The burst also covers a test module's rapid requests on one key (about 150 at most).
    http_rate_per_key_per_second: float = Field(default=20.0, gt=0)
    http_rate_burst_per_key: int = Field(default=300, gt=0)
    # An address whose requests failed authentication this often within the window is
    # refused (429) for the block time, whatever key it sends.
    http_auth_failures_per_address: int = Field(default=10, gt=0)
    http_auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    http_auth_block_seconds: float = Field(default=300.0, gt=0)
    # Rate-limit tables hold at most this many keys or addresses (least recently seen go).
    http_rate_limit_max_entries: int = Field(default=10_000, gt=0)
    # /docs and /redoc (assets served by the service itself); /openapi.json stays on.
    http_docs_enabled: bool = True

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSettings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / (self.service_name + '.db')}"
        if not self.consumer_group:
            self.consumer_group = f"cimis-{self.service_name}"
        return self

    def kafka(self) -> KafkaClientConfig:
        """This service's Kafka identity; a SASL setup without credentials fails loudly."""
        config = client_config(
            self.kafka_bootstrap_servers,
            client_file=self.kafka_client_config,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password.get_secret_value()
            if self.kafka_sasl_password
            else None,
            ssl_cafile=self.kafka_ssl_cafile,
        )
        try:
            return config.require_credentials()
        except KafkaCredentialsMissing as exc:
            raise StartupError(str(exc)) from exc

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
