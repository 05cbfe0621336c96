"""Adapters to outside systems; third-party errors are translated to SpotOn's here."""

from spoton.adapters.object_store import ObjectStore, S3ObjectStore

__all__ = ["ObjectStore", "S3ObjectStore"]
