"""The local web page: Today, prep notes, people and their timelines, and the actions on them.

Its own package: nothing of the web stack (Starlette, uvicorn, markdown-it) is imported by any
other command. ``mendcrm ui`` (:mod:`mendcrm.web.command`) serves it on loopback behind the
guard of :mod:`mendcrm.web.security` (off loopback only with TLS and a password, see
:mod:`mendcrm.web.exposed`); every change goes through :mod:`mendcrm.changes`.
"""
