"""The dashboard page (HTML, CSS and JS shipped in the package; no CDN)."""
