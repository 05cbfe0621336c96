"""Appearance re-identification: embedders, their distance, camera topology, batch refinement."""

from spoton.reid.color_stripes import AppearanceEmbedder, ColorStripeEmbedder
from spoton.reid.topology import CameraTopology, TransitWindow
from spoton.tracking.matching import cosine_distance

__all__ = ["AppearanceEmbedder", "CameraTopology", "ColorStripeEmbedder", "TransitWindow", "cosine_distance"]
