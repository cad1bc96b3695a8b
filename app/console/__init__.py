"""The ops console: server-rendered pages for bank operations at `/console/` (composition root)."""
