"""MendCRM: a personal CRM for mending strained professional relationships.

It runs beside your CalDAV calendars, spots encounters with people you have flagged, and queues
a prep note before and a follow-up after each one. Use it from the command line (``mendcrm``),
or read its store from your own tools::

    from mendcrm.api import open_store
    crm = open_store()
    for item in crm.queue(state="due"):
        print(item.due, item.title)

The pipeline, stage by stage: :mod:`mendcrm.sources` → :mod:`mendcrm.events` →
:mod:`mendcrm.detection` → :mod:`mendcrm.planning` → actions (annotations and plugins), all
driven by :mod:`mendcrm.pipeline`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
