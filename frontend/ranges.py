"""The time range a dashboard shows: a preset ending now, or a custom start and end.

Pure: the caller passes `now` and the query parameters; nothing reads the clock.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "365d": timedelta(days=365),
}
DEFAULT_PRESET = "7d"
MAX_SPAN = timedelta(days=3660)


class RangeError(ValueError):
    """A bad `range`, `start` or `end` parameter; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    key: str  # a PRESETS key or "custom"

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def is_live(self) -> bool:
        """Presets follow the clock and are worth refreshing; a custom range is fixed."""
        return self.key != "custom"

    def query(self) -> dict[str, str]:
        """The query parameters that select this range again."""
        if self.key == "custom":
            return {"start": iso(self.start), "end": iso(self.end)}
        return {"range": self.key}

    def querystring(self, **extra) -> str:
        params = self.query() | {k: v for k, v in extra.items() if v not in (None, "")}
        return urlencode(params)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(value: str, field: str) -> datetime:
    """ISO-8601 (a browser's `datetime-local` value too); naive means UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RangeError(field, f"{field} must be an ISO-8601 date and time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_range(params, now: datetime, anchor: datetime | None = None) -> TimeRange:
    """The range the request asks for; the default preset otherwise.

    A preset ends at `now`, or at `anchor` (the model's last data) when that is older
    than the preset's start, so a model that went quiet still shows its last data.
    """
    if params.get("start") or params.get("end"):
        return custom_range(params.get("start", ""), params.get("end", ""), now)
    key = params.get("range") or DEFAULT_PRESET
    if key not in PRESETS:
        raise RangeError("range", f"range must be one of {', '.join(PRESETS)} (or start/end).")
    end = now
    if anchor is not None and anchor < now - PRESETS[key]:
        end = anchor + timedelta(minutes=1)
    return TimeRange(end - PRESETS[key], end, key)


def custom_range(start: str, end: str, now: datetime) -> TimeRange:
    if not start:
        raise RangeError("start", "start is required with end.")
    begin = parse_moment(start, "start")
    finish = parse_moment(end, "end") if end else now
    if finish <= begin:
        raise RangeError("end", "end must be after start.")
    if finish - begin > MAX_SPAN:
        raise RangeError("start", "The range may span at most ten years.")
    return TimeRange(begin, finish, "custom")


# How an alert's window is framed (alert links, the alert page): see docs/dashboards.md.
LEAD_RESULTS = 24  # the rule's results before the onset that the window reaches back to
MIN_LEAD = timedelta(hours=1)
MAX_LEAD = timedelta(days=30)
MIN_TAIL = timedelta(minutes=30)


def around(
    start: datetime, end: datetime | None, now: datetime, earlier: datetime | None = None
) -> TimeRange:
    """A custom range framing an alert that began at `start` and ended at `end` (None
    while active): from before the onset to now, or to the end plus a margin.

    Before the onset it shows at least MIN_LEAD and half the alert's duration, and reaches
    back to `earlier` when given (the time of the rule's LEAD_RESULTS-th result before the
    onset, so that a drift heatmap has that many columns of history), at most MAX_LEAD.
    """
    finish = end or now
    duration = finish - start
    lead = max(duration / 2, MIN_LEAD)
    if earlier is not None and earlier < start:
        lead = max(lead, min(start - earlier, MAX_LEAD))
    tail = max(duration / 2, MIN_TAIL) if end is not None else timedelta(0)
    return TimeRange(start - lead, min(finish + tail, max(now, finish)), "custom")
