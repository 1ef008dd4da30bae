"""View-models: the state of each screen and what its controls do, with no UI library.

Each holds its screen's state, calls the store and the sync service, and tells
its listeners when something changed; views read from them and call one method
per event. Blocking calls (HTTP, big queries) are plain methods: the view runs
them off the UI loop.
"""
