"""Appearance re-identification: embedders and their distance."""

from spoton.reid.color_stripes import AppearanceEmbedder, ColorStripeEmbedder
from spoton.tracking.matching import cosine_distance

__all__ = ["AppearanceEmbedder", "ColorStripeEmbedder", "cosine_distance"]
