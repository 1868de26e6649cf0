"""The routes, one module per group of Dmart's API."""
