"""A ``schedule`` timetable that reads the time from a :class:`~mendcrm.clock.Clock`.

``schedule`` asks ``datetime.now()`` directly; these subclasses ask the injected clock instead, so
a test with a FrozenClock moves through hours of timetable without sleeping. Only plain intervals
(``every(n).seconds`` / ``.minutes`` / ``.hours``) are supported — all the daemon uses. Times in
``next_run`` are naive UTC, as ``schedule`` expects naive values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schedule

from mendcrm.clock import Clock

_UNITS = ("seconds", "minutes", "hours")


class ClockScheduler(schedule.Scheduler):
    """A private scheduler (never the module-global one) driven by ``clock``."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def naive_now(self) -> datetime:
        return self.clock.now().astimezone(UTC).replace(tzinfo=None)

    def every(self, interval: int = 1) -> ClockJob:
        return ClockJob(interval, self)

    @property
    def idle_seconds(self) -> float | None:
        upcoming = self.next_run
        return None if upcoming is None else (upcoming - self.naive_now()).total_seconds()

    def next_run_of(self, tag: str) -> datetime | None:
        """Given a job's tag, return when it runs next (aware UTC), or None if there is none."""
        now = self.naive_now()
        runs = []
        for job in self.get_jobs(tag):
            if job.next_run is None or job.unit is None:
                continue
            # A job asked from inside itself has not been rescheduled yet: its next run is one
            # period on.
            period = timedelta(**{job.unit: job.interval})
            runs.append(job.next_run if job.next_run > now else now + period)
        return min(runs).replace(tzinfo=UTC) if runs else None


class ClockJob(schedule.Job):
    """A job whose timing follows its scheduler's clock."""

    def __init__(self, interval: int, scheduler: ClockScheduler) -> None:
        super().__init__(interval, scheduler)
        self._clock_scheduler = scheduler

    @property
    def should_run(self) -> bool:
        return self.next_run is not None and self._clock_scheduler.naive_now() >= self.next_run

    def run(self) -> object:
        result = self.job_func() if self.job_func is not None else None
        self.last_run = self._clock_scheduler.naive_now()
        self._schedule_next_run()
        return result

    def _schedule_next_run(self) -> None:
        if self.unit not in _UNITS:
            raise schedule.ScheduleValueError(f"ClockJob supports only {', '.join(_UNITS)}")
        period = timedelta(**{self.unit: self.interval})
        self.next_run = self._clock_scheduler.naive_now() + period


__all__ = ["ClockJob", "ClockScheduler"]
