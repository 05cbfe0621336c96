"""MapMap: a WMTS tile proxy."""

__all__: list[str] = []
