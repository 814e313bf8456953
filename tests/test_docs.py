"""The docs name real things: every test the security catalogue cites exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_cited_in_the_security_catalogue_exists():
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    last_file = None
    missing = []
    for path, name in cited:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
            continue
        last_file = file
        if name and not re.search(rf"def {name}\b", file.read_text(encoding="utf-8")):
            missing.append(f"{path}::{name}")
    # "`::name`" right after a file cites another test of that file
    for match in re.finditer(r"`(tests/[\w/]+\.py)::\w+`((?:, `::\w+`)+)", text):
        file = ROOT / match.group(1)
        for name in re.findall(r"`::(\w+)`", match.group(2)):
            if not re.search(rf"def {name}\b", file.read_text(encoding="utf-8")):
                missing.append(f"{match.group(1)}::{name}")
    assert last_file is not None
    assert not missing, f"docs/security.md cites tests that do not exist: {missing}"
