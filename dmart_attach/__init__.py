"""dmart_attach: Dmart's managed API over Dmart's folder-per-space tree."""

__version__ = "0.1.0"
