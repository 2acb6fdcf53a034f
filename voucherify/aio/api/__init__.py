"""The asyncio API classes; the operations they send are the sync classes' declarations."""
