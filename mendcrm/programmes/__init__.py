"""Conference programmes: a third kind of source beside CalDAV accounts and feeds.

Read in this order:

- :mod:`mendcrm.programmes.model`: a programme, its sessions and their speakers.
- :mod:`mendcrm.programmes.formats`: which reader a document needs, and JSON/XML read safely.
- :mod:`mendcrm.programmes.frab`, :mod:`~mendcrm.programmes.sessionize`,
  :mod:`~mendcrm.programmes.indico`, :mod:`~mendcrm.programmes.ics`: one reader per format.
- :mod:`mendcrm.programmes.fetch`: the conditional GET (or file read) through the one transport,
  keeping the last good copy when it fails.
- :mod:`mendcrm.programmes.speakers`: speakers matched to flagged contacts by the one name
  matcher (:mod:`mendcrm.names`).
"""
