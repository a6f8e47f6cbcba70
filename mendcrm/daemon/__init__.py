"""MendCRM as a background service.

- :mod:`~mendcrm.daemon.loop`: the timetable (sync, retries, delivery) on an injectable clock;
- :mod:`~mendcrm.daemon.runner`: the real process — lock, signals, plugins, the pipeline;
- :mod:`~mendcrm.daemon.lock`: one daemon per store (``flock``);
- :mod:`~mendcrm.daemon.backoff`, :mod:`~mendcrm.daemon.health`: per-source back-off and the
  health record read by ``mendcrm status``;
- :mod:`~mendcrm.daemon.signals`, :mod:`~mendcrm.daemon.sdnotify`,
  :mod:`~mendcrm.daemon.redaction`: process plumbing.

Nothing is imported here, so ``import mendcrm.daemon.lock`` (as ``status`` does) stays light.
"""
