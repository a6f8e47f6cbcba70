"""``python -m mendcrm`` runs the command line."""

from mendcrm.cli.main import main

main()
