"""The booking widget: pages served from this package, a client of `/api/v1` with a booking
form's public key (docs/widget.md)."""
