"""Runs the notify process: ``python -m services.notify.entrypoints.main``."""

from __future__ import annotations

import uvicorn

from cimis_chassis.logs import configure_logging
from services.notify.bootstrap import create_app
from services.notify.settings import NotifySettings


def main() -> None:
    settings = NotifySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
