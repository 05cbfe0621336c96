"""The HTTP layer: Django async views over the domain core, wired by `indoormaps.app.create_app`."""
