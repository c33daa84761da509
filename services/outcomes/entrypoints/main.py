"""Runs the outcomes process: ``python -m services.outcomes.entrypoints.main``."""

from __future__ import annotations

import uvicorn

from cimis_chassis.logs import configure_logging
from services.outcomes.bootstrap import create_app
from services.outcomes.settings import OutcomesSettings


def main() -> None:
    settings = OutcomesSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
