"""Indoor maps core: IMDF import with levels, keyset feature streams and multi-floor routing on PostGIS."""

__all__ = ["__version__"]

__version__ = "0.1.0"
