"""``python -m sim`` is the ``negsim`` command."""

from sim.cli import main

raise SystemExit(main())
