"""Telling systemd how the service is doing (``sd_notify``), with no extra dependency.

Under ``Type=notify`` systemd sets ``$NOTIFY_SOCKET`` to a datagram socket; ``READY=1`` says the
service is up, ``STOPPING=1`` that it is shutting down, ``STATUS=…`` a line for
``systemctl status``. Anywhere else this does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def sd_notify(message: str) -> bool:
    """Given a notification such as ``READY=1``, send it to systemd; return whether it was sent."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket: its name starts with a NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.debug("sd_notify %s failed: %s", message, exc)
        return False
    return True


__all__ = ["sd_notify"]
