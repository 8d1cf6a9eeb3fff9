"""The browser extension: it puts the portal's customer card beside the real
HDE ticket page, where HDE itself offers no sidebar.

The operator's browser holds an extension token (per operator, one agency's
shops, stored hashed here); on an HDE ticket page the extension asks
`POST /api/v1/extension/widget-url` for a short-lived signed widget link and
frames it in a collapsible panel. The portal also serves the packed extension,
Chrome's update manifest and the install instructions (`/extension/`).
Sources and the build: `extension/` and `scripts/build-extension`.
"""
