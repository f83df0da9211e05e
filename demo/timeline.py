"""The demo's clock: 30 days of hourly traffic ending now, a change on day 20.

Every hour has its own random generator, seeded by (story, hour index), so an hour's
records are the same whenever they are generated: re-running the seeder (or topping
up later) adds the missing hours and never changes or duplicates the others.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

HOUR = timedelta(hours=1)
DAYS = 30
CHANGE_DAY = 20


@dataclass(frozen=True)
class Hour:
    index: int  # hours since the story's start
    start: datetime

    @property
    def day(self) -> int:
        return self.index // 24

    def after(self, day: int) -> bool:
        return self.day >= day

    def rng(self, story: int) -> np.random.Generator:
        return np.random.default_rng([story, self.index])

    def moments(self, rng: np.random.Generator, count: int) -> list[datetime]:
        """`count` sorted times inside this hour."""
        offsets = np.sort(rng.uniform(0, 3600, count))
        return [self.start + timedelta(seconds=float(s)) for s in offsets]


def story_start(now_hour: datetime) -> datetime:
    """Where a new story starts: DAYS before the current hour."""
    return now_hour - timedelta(days=DAYS)


def hours(start: datetime, first: datetime, last: datetime) -> Iterator[Hour]:
    """The story's hours whose start lies in [first, last]."""
    index = max(0, int((first - start) / HOUR))
    while start + index * HOUR <= last:
        yield Hour(index, start + index * HOUR)
        index += 1
