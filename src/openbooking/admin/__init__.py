"""The business page at `/admin`: a client of the B2B API that holds no token in the browser."""
