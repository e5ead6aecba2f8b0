"""Business-file operations the CLI offers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from openbooking.business import document, loader
from openbooking.models import Chain

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def demo_path() -> Path:
    return Path(str(resources.files("openbooking.business") / "demo.yaml"))


async def load_file(session: AsyncSession, path: Path) -> None:
    """Check and apply `path`; raises BusinessFileError before writing anything if it is bad."""
    await loader.load(session, document.read_file(path))


async def load_demo_once(session: AsyncSession) -> bool:
    """Load the bundled demo unless its chain is already there. True if it was loaded now."""
    data = document.read_file(demo_path())
    assert data.chain is not None
    if await session.get(Chain, data.chain.id) is not None:
        return False
    await loader.load(session, data)
    return True
