"""The repository stands alone: what its code and docs cite is in it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "access",
    "alerts_app",
    "models_app",
    "frontend",
    "monitor_site",
    "modelwatch",
    "bench",
    "docs",
    "examples",
    "tests",
    "demo",
)
SUFFIXES = {".py", ".md", ".html", ".txt", ".toml", ".yml"}


def text_files():
    yield ROOT / "README.md"
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file():
                yield path


def test_no_file_cites_a_design_document_outside_the_repository():
    outside = "DESIGN" + ".md"
    citing = [
        str(path.relative_to(ROOT))
        for path in text_files()
        if outside in path.read_text(errors="replace")
    ]
    assert not citing


def test_every_cited_doc_exists():
    cited = {
        (str(path.relative_to(ROOT)), name)
        for path in text_files()
        for name in re.findall(r"docs/[\w-]+\.md", path.read_text(errors="replace"))
    }
    missing = sorted((source, name) for source, name in cited if not (ROOT / name).exists())
    assert not missing
