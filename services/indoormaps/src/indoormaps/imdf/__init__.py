"""IMDF (Indoor Mapping Data Format) input: read a folder or zip, clean quirks, load a data version."""

from indoormaps.imdf.loader import ImportReport, import_imdf
from indoormaps.imdf.reader import Feature, ImdfDataset, read_imdf

__all__ = ["Feature", "ImdfDataset", "ImportReport", "import_imdf", "read_imdf"]
