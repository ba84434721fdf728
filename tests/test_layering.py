"""Layering: library modules never import a command module (commands sit on top of the library)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "contemo"


def _is_command(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "command" or last.endswith("_command") or module == "contemo.cli"


def _imports(file: Path) -> set[str]:
    """Return the contemo modules `file` imports, at top level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("contemo"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("contemo"))
    return out


def test_library_modules_import_no_command_module():
    library = [f for f in SRC.rglob("*.py")
               if not _is_command(".".join(f.relative_to(SRC.parent).with_suffix("").parts))
               and f.name != "__main__.py"]
    assert len(library) > 50
    offenders = {str(f.relative_to(SRC)): sorted(m for m in _imports(f) if _is_command(m))
                 for f in library}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_va_labels_have_one_home():
    """serve/app.py and generate --va both take their VA label from contemo.labels.va."""
    for file in (SRC / "serve" / "app.py", SRC / "generation" / "label_options.py"):
        imported = _imports(file)
        assert "contemo.labels.va" in imported or "contemo.labels.sets" in imported, file
        assert not any(m.startswith("contemo.interpolation") for m in imported), file
