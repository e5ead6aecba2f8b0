"""The widget's first screen stays small: everything the page loads before it can show the first
step (HTML, CSS, JavaScript modules and the strings), compressed as a server would send it."""

from __future__ import annotations

import gzip
import re
from importlib import resources

from openbooking.catalog.languages import translation_bytes

LIMIT = 60 * 1024
STATIC = resources.files("openbooking.widget") / "static"


def first_screen() -> dict[str, bytes]:
    page = (STATIC / "page.html").read_bytes()
    files = {"page.html": page}
    pending = re.findall(rb'(?:href|src)="/widget/static/([\w.]+)"', page)
    while pending:
        name = pending.pop().decode()
        if name in files:
            continue
        files[name] = (STATIC / name).read_bytes()
        pending += re.findall(rb'from "\./([\w.]+)"', files[name])
    return files


def test_the_first_screen_is_at_most_60_kb_compressed() -> None:
    files = first_screen()
    assert {"app.js", "api.js", "dom.js", "theme.js", "widget.css"} <= files.keys()
    strings = translation_bytes("en-US")
    assert strings is not None
    total = sum(len(gzip.compress(body, 9)) for body in [*files.values(), strings])
    assert total <= LIMIT, f"{total} bytes compressed: {sorted(files)}"
