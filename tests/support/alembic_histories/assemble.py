"""Lay out one published Alembic history as a runnable Alembic project (used by .ci/alembic-histories).

    python3 assemble.py NAME ARCHIVE DEST

ARCHIVE is the package as published on PyPI (a wheel, or an sdist .tar.gz); DEST (which must not
exist) receives:

    DEST/alembic.ini   the shipped one, with script_location and prepend_sys_path pointing into DEST
    DEST/env.py        the shipped one, as is or with the few edits listed below (each must apply once)
    DEST/versions/     the shipped revision files, byte for byte
    DEST/pylib/        what the migrations and env.py import from the application: modules taken
                       whole from the archive, and the shims of tests/support/alembic_histories/NAME/pylib

A shim line `# from the archive: PATH NAME...` is replaced by the top-level definitions NAME... (or a
class's method, Class.method) of the archive's file PATH, so that what matters to the migrations (an
enum's members, a type's methods, a constant) is the application's own, not a copy kept here.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

LANGFLOW_URL = '''config = context.config

# migrate's test set-up (.ci/alembic-histories): the database is MIGRATE_ALEMBIC_URL, handed to Alembic
# as Langflow's DatabaseService hands it (postgresql:// becomes postgresql+psycopg://, the async driver
# the engine below needs).
_migrate_url = os.environ["MIGRATE_ALEMBIC_URL"]
if _migrate_url.split("://", 1)[0] in {"postgresql", "postgres"}:
    _migrate_url = "postgresql+psycopg://" + _migrate_url.split("://", 1)[1]
config.set_main_option("sqlalchemy.url", _migrate_url.replace("%", "%%"))
'''

RATTAIL_URL = '''                             versioning=False)

# migrate's test set-up (.ci/alembic-histories): the database is MIGRATE_ALEMBIC_URL, not the
# [rattail.db] default.url of a Rattail config file.
import os
import sqlalchemy

rattail_config.appdb_engine = sqlalchemy.create_engine(os.environ["MIGRATE_ALEMBIC_URL"])
'''

HISTORIES = {
    "fides": {
        "ini": "fides/api/alembic/alembic.ini",
        "ini_edits": [
            ("script_location = migrations\n", "script_location = %(here)s\n"),
            ("prepend_sys_path = .\n", "prepend_sys_path = %(here)s/pylib\n"),
        ],
        "env": "fides/api/alembic/migrations/env.py",
        "env_edits": [],
        "versions": "fides/api/alembic/migrations/versions",
        "modules": [
            "fides/api/alembic/__init__.py",
            "fides/api/alembic/migrations/__init__.py",
            "fides/api/alembic/migrations/helpers/__init__.py",
            "fides/api/alembic/migrations/helpers/custom_report_migration_functions.py",
            "fides/api/alembic/migrations/helpers/database_functions.py",
            "fides/api/alembic/migrations/helpers/fideslang_migration_functions.py",
            "fides/api/util/custom_json_encoder.py",
            "fides/api/util/text.py",
        ],
    },
    "langflow": {
        "ini": "langflow/alembic.ini",
        "ini_edits": [
            ("script_location = alembic\n", "script_location = %(here)s\n"),
            ("prepend_sys_path = .\n", "prepend_sys_path = %(here)s/pylib\n"),
        ],
        "env": "langflow/alembic/env.py",
        "env_edits": [("config = context.config\n", LANGFLOW_URL)],
        "versions": "langflow/alembic/versions",
        "modules": [
            "langflow/alembic/__init__.py",
            "langflow/alembic/expand_compat.py",
            "langflow/alembic/warning_filters.py",
            "langflow/services/database/models/catalog_policy/__init__.py",
            "langflow/services/database/models/catalog_policy/model.py",
            "langflow/utils/__init__.py",
            "langflow/utils/migration.py",
        ],
    },
    "rattail": {
        # Rattail ships no alembic.ini (its own config file names the scripts); ours is in the repository.
        "ini": None,
        "ini_edits": [],
        "env": "rattail/db/alembic/env.py",
        "env_edits": [("                             versioning=False)\n", RATTAIL_URL)],
        "versions": "rattail/db/alembic/versions",
        # The migrations import rattail itself, installed from the same sdist into the venv.
        "modules": [],
    },
}


def read_archive(path: Path) -> dict[str, bytes]:
    """Every file of a wheel, or of an sdist without its top folder, by path."""
    files: dict[str, bytes] = {}
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not name.endswith("/"):
                    files[name] = z.read(name)
    else:
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if m.isfile():
                    files[m.name.split("/", 1)[1]] = t.extractfile(m).read()
    return files


def edit(text: str, edits: list[tuple[str, str]], what: str) -> str:
    for old, new in edits:
        if text.count(old) != 1:
            sys.exit(f"{what}: expected {old!r} exactly once, found it {text.count(old)} times")
        text = text.replace(old, new)
    return text


def definition(source: str, name: str, path: str) -> str:
    """The source of a top-level definition (or Class.method) of a module, decorators included."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    body, wanted = tree.body, name
    if "." in name:
        cls, wanted = name.split(".", 1)
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    for node in body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        if wanted in names:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            return textwrap.dedent("".join(lines[start - 1 : node.end_lineno]))
    sys.exit(f"{path} has no definition of {name}")


def expand_shim(text: str, files: dict[str, bytes], shim: Path) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        m = re.match(r"^(\s*)# from the archive: (\S+) (.+)$", line)
        if not m:
            out.append(line)
            continue
        indent, path, names = m.group(1), m.group(2), m.group(3).split()
        if path not in files:
            sys.exit(f"{shim}: the archive has no {path}")
        source = files[path].decode()
        out.append(line)
        for name in names:
            out.append(textwrap.indent(definition(source, name, path), indent))
    return "".join(out)


def main() -> None:
    name, archive, dest = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    spec = HISTORIES[name]
    files = read_archive(archive)
    if dest.exists():
        sys.exit(f"{dest} exists")
    dest.mkdir(parents=True)

    if spec["ini"] is None:
        ini = (HERE / name / "alembic.ini").read_text()
    else:
        ini = edit(files[spec["ini"]].decode(), spec["ini_edits"], f"{archive.name}:{spec['ini']}")
    (dest / "alembic.ini").write_text(ini)
    env = edit(files[spec["env"]].decode(), spec["env_edits"], f"{archive.name}:{spec['env']}")
    (dest / "env.py").write_text(env)

    prefix = spec["versions"] + "/"
    count = 0
    for path, data in sorted(files.items()):
        if path.startswith(prefix) and "__pycache__" not in path and not path.endswith(".pyc"):
            target = dest / "versions" / path[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
    if count == 0:
        sys.exit(f"{archive.name} has nothing under {prefix}")

    pylib = dest / "pylib"
    for path in spec["modules"]:
        target = pylib / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[path])
    shims = HERE / name / "pylib"
    if shims.is_dir():
        for shim in sorted(shims.rglob("*.py")):
            target = pylib / shim.relative_to(shims)
            if target.exists():
                sys.exit(f"{shim} would replace a module taken from {archive.name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expand_shim(shim.read_text(), files, shim))


if __name__ == "__main__":
    main()
