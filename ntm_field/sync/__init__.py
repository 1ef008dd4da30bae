"""The device side of the sync contract (requests is imported in `transport` and nowhere else).

Data flows: local store → `engine` (batches, retries, results) → `transport` (HTTP) → central endpoint,
and back by pull pages; `service` runs the engine in the background for the app.
"""
