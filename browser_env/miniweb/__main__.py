"""``python -m browser_env.miniweb [INDEX_DIR] [--port 8080]``: serve an index as the offline mini-web."""

from .server import main

raise SystemExit(main())
