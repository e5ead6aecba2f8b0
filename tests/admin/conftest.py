"""The business users and HTTP client of the B2B API tests, for the admin page's session."""

from tests.backoffice.conftest import business, clock, http  # noqa: F401 - fixtures
