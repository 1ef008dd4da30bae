"""How the Flet apps (the field app with --web, the officer dashboard) are served to a browser."""

from __future__ import annotations

import flet as ft

# CanvasKit, not Flet's "auto" (skwasm in Chromium, drawing on a worker thread): under load, headless
# Chromium's renderer was seen spinning its main thread and skwasm's worker at 100 % each, the page frozen
# for good (the monkey's seeds 15 and 17, the dashboard's revoke test). Flet documents CanvasKit as the
# faster of the two at the byte buffers Flet exchanges on every update.
WEB_RENDERER = ft.WebRenderer.CANVAS_KIT
