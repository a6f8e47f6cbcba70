"""The ``mendcrm`` command line: :mod:`mendcrm.cli.main` holds the group; commands live by topic."""
