"""Layering: library modules never import a command module (commands sit on top of the library)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "contemo"


def _is_command(module: str) -> bool:
    return module == "contemo.cli" or module.startswith("contemo.commands")


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


def test_every_command_lives_in_the_commands_package_under_its_words():
    from contemo.cli import COMMANDS

    assert [module for _, module in COMMANDS] == [
        "contemo.commands." + "_".join(words) for words, _ in COMMANDS]
    assert not [f for f in SRC.rglob("*command*.py")]  # no command module elsewhere


def test_va_labels_have_one_home():
    """serve/app.py and generate --va both take their VA label from contemo.labels.va."""
    for file in (SRC / "serve" / "app.py", SRC / "generation" / "label_options.py"):
        imported = _imports(file)
        assert "contemo.labels.va" in imported or "contemo.labels.sets" in imported, file
        assert not any(m.startswith("contemo.interpolation") for m in imported), file


# docs/architecture.md's layers: a module may import its own layer and those below.
RANK = {"commands": 4, "cli": 4, "serve": 3, "evaluation": 3, "training": 3, "generation": 2,
        "judge": 2, "models": 1, "data": 1, "labels": 1}  # everything else (emotions, hardware, ...): 0


def _rank(module: str) -> int:
    parts = module.split(".")
    return RANK.get(parts[1], 0) if len(parts) > 1 else 0


def test_no_module_imports_a_higher_layer():
    upward = []
    for f in SRC.rglob("*.py"):
        me = ".".join(f.relative_to(SRC.parent).with_suffix("").parts)
        if me == "contemo.__main__":  # the entry point runs the CLI
            continue
        upward += [(me, m) for m in _imports(f) if _rank(m) > _rank(me)]
    assert upward == []
