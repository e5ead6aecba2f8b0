"""OpenBooking: a self-hostable server for the Altegio/YCLIENTS Online Booking API."""

__version__ = "0.1.0"
