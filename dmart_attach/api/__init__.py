"""HTTP only: parse the request, call a service, answer in Dmart's envelope."""
