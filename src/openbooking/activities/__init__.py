"""Group events (classes, workshops): sessions with seats, searched and booked by customers."""
