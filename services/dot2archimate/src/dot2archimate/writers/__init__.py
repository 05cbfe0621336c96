"""Output formats: Open Group exchange XML, Archi's .archimate, Archi's CSV import set."""

from .archi import archi_xml
from .csv import archi_csv
from .exchange import exchange_xml

__all__ = ["archi_csv", "archi_xml", "exchange_xml"]
