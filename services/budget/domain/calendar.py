"""The programme's calendar: receipt dates and "today" are days in Saxony."""

from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
