"""Installing MendCRM as a user service: a systemd user unit on Linux, a launchd agent on macOS.

The unit runs ``mendcrm daemon`` with the absolute path of the interpreter (or console script) in
use now, so the service runs the same installation the user ran ``service install`` from.
``Type=notify``: the daemon tells systemd when it is ready (``sd_notify``); ``Restart=on-failure``
brings it back after a crash but not after a clean stop. Nothing here runs ``systemctl`` or
``launchctl``: the commands to enable the service are printed for the user to run.
"""

from __future__ import annotations

import os
import plistlib
import sys
from dataclasses import dataclass
from pathlib import Path

from mendcrm.files import write_private

UNIT_NAME = "mendcrm.service"
LAUNCHD_LABEL = "mendcrm.daemon"


@dataclass(frozen=True)
class ServiceFile:
    """A service definition to write: where, what, and what the user does next."""

    path: Path
    content: str
    next_steps: tuple[str, ...]


def daemon_argv(config_file: Path | None) -> list[str]:
    """Given the config file to pin (or None for the default lookup), return the daemon's argv.

    Prefers the ``mendcrm`` console script beside the running interpreter; falls back to
    ``python -m mendcrm``. Both are absolute, so the service does not depend on ``$PATH``.
    """
    interpreter = Path(sys.executable).absolute()
    script = interpreter.parent / "mendcrm"
    argv = [str(script)] if script.is_file() else [str(interpreter), "-m", "mendcrm"]
    if config_file is not None:
        argv += ["--config", str(config_file.expanduser().absolute())]
    argv.append("daemon")
    return argv


def _systemd_quote(word: str) -> str:
    # systemd expands %-specifiers and $VARIABLES in ExecStart; double them to keep them literal.
    escaped = word.replace("%", "%%").replace("$", "$$")
    if any(c in escaped for c in " \t\"'\\") or not escaped:
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def systemd_unit(argv: list[str]) -> str:
    """Given the daemon's argv, return the text of the systemd user unit."""
    exec_start = " ".join(_systemd_quote(word) for word in argv)
    return f"""\
[Unit]
Description=MendCRM: prep notes and follow-ups beside your calendars
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=30
TimeoutStopSec=30

[Install]
WantedBy=default.target
"""


def launchd_plist(argv: list[str], log_file: Path) -> str:
    """Given the daemon's argv and a log file, return the text of the launchd agent's plist."""
    document = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": argv,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 30,
        "StandardErrorPath": str(log_file),
        "ProcessType": "Background",
    }
    return plistlib.dumps(document, sort_keys=False).decode("utf-8")


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def systemd_unit_path() -> Path:
    """Return where the user unit goes (``$XDG_CONFIG_HOME/systemd/user/mendcrm.service``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(_home() / ".config")
    return Path(base) / "systemd" / "user" / UNIT_NAME


def launchd_plist_path() -> Path:
    return _home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def service_file(config_file: Path | None, platform: str = sys.platform) -> ServiceFile:
    """Given the config file to pin and the platform, return the service file to install."""
    argv = daemon_argv(config_file)
    if platform == "darwin":
        path = launchd_plist_path()
        log_file = _home() / "Library" / "Logs" / "mendcrm.log"
        return ServiceFile(
            path,
            launchd_plist(argv, log_file),
            (
                f"launchctl bootstrap gui/$(id -u) {path}",
                f"logs: tail -f {log_file}",
            ),
        )
    path = systemd_unit_path()
    return ServiceFile(
        path,
        systemd_unit(argv),
        (
            "systemctl --user daemon-reload",
            f"systemctl --user enable --now {UNIT_NAME}",
            f"logs: journalctl --user -u {UNIT_NAME} -f",
            "to keep it running while you are logged out: loginctl enable-linger $USER",
        ),
    )


def install(config_file: Path | None, platform: str = sys.platform) -> tuple[ServiceFile, bool]:
    """Write the service file (0600, atomically); return it and whether it was already there."""
    service = service_file(config_file, platform)
    existed = service.path.exists()
    # 0600 is enough: the user's own service manager (systemd --user, launchd's gui domain)
    # reads the file as the user.
    write_private(service.path, service.content)
    return service, existed


def uninstall(platform: str = sys.platform) -> tuple[Path, bool, tuple[str, ...]]:
    """Remove the service file (and systemd's enable link); return path, removed?, next steps."""
    if platform == "darwin":
        path = launchd_plist_path()
        steps: tuple[str, ...] = (f"launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}",)
        if path.exists():
            steps = (f"launchctl bootout gui/$(id -u) {path}",)
    else:
        path = systemd_unit_path()
        link = path.parent / "default.target.wants" / UNIT_NAME
        if link.is_symlink():
            link.unlink()  # what `systemctl --user disable` would remove
        steps = (f"systemctl --user stop {UNIT_NAME}", "systemctl --user daemon-reload")
    removed = path.exists()
    if removed:
        path.unlink()
    return path, removed, steps


__all__ = [
    "LAUNCHD_LABEL",
    "UNIT_NAME",
    "ServiceFile",
    "daemon_argv",
    "install",
    "launchd_plist",
    "launchd_plist_path",
    "service_file",
    "systemd_unit",
    "systemd_unit_path",
    "uninstall",
]
