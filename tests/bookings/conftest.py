from tests.verification.conftest import customer, outbox

__all__ = ["customer", "outbox"]
