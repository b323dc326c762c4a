# The Python side of `migrate import alembic`: runs the project's own Alembic
# (its alembic.ini, env.py and versions folder, in the project's Python
# environment) against a scratch database and records, revision by revision,
# the SQL it sends. Invoked as `python alembic.py REQUEST.json RESULT.json`;
# the request says what to run, the result holds the revisions and the
# statements. Written for migrate; reads Alembic's public API only.
import json
import os
import re
from collections.abc import Mapping
import sys
import traceback

request = json.load(open(sys.argv[1]))
result = {"revisions": [], "upgrade_order": [], "upgrades": {}, "downgrade_order": [],
          "downgrades": {}, "no_transaction": [], "failed": None}


def finish():
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)


try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
except ImportError as e:
    result["failed"] = {"stage": "import", "revision": None,
                        "message": "this Python cannot import Alembic and SQLAlchemy (%s): "
                                   "pass the project's own interpreter with --python" % e}
    finish()
    sys.exit(0)



def with_driver(url):
    # A driver whose cursor shows the SQL it sends (mogrify): psycopg2 where installed.
    if url.startswith("postgresql://"):
        try:
            import psycopg2  # noqa: F401
            return "postgresql+psycopg2://" + url[len("postgresql://"):]
        except ImportError:
            return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


# env.py files that take their URL from elsewhere than alembic.ini read this.
os.environ["MIGRATE_ALEMBIC_URL"] = request["url"]
url = with_driver(request["url"])
cfg = Config(request["config"])
cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
script = ScriptDirectory.from_config(cfg)
# Every command and env.py get this one directory, whose functions are wrapped below.
ScriptDirectory.from_config = classmethod(lambda cls, config, *a, **k: script)

CREATE_DATE = re.compile(r"^\s*Create Date:\s*(.+?)\s*$", re.M)
current = [None]  # (direction, revision) while a migration function runs


def tuple_of(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def wrap(rev, direction, fn):
    def run(*args, **kwargs):
        current[0] = (direction, rev)
        (result["upgrade_order"] if direction == "up" else result["downgrade_order"]).append(rev)
        (result["upgrades"] if direction == "up" else result["downgrades"]).setdefault(rev, [])
        try:
            return fn(*args, **kwargs)
        except BaseException as e:
            if result["failed"] is None:
                result["failed"] = {"stage": direction, "revision": rev,
                                    "message": "".join(traceback.format_exception_only(type(e), e)).strip()}
            raise
        finally:
            current[0] = None
    return run


for sc in script.walk_revisions():
    doc = sc.module.__doc__ or ""
    date = CREATE_DATE.search(doc)
    result["revisions"].append({
        "id": sc.revision,
        "down": tuple_of(sc.down_revision),
        "depends_on": tuple_of(sc.dependencies),
        "message": (sc.doc or "").strip().splitlines()[0] if (sc.doc or "").strip() else "",
        "date": date.group(1) if date else None,
        "file": sc.path,
    })
    sc.module.upgrade = wrap(sc.revision, "up", sc.module.upgrade)
    if hasattr(sc.module, "downgrade"):
        sc.module.downgrade = wrap(sc.revision, "down", sc.module.downgrade)

# A revision that leaves Alembic's transaction runs outside one here too.
original_block = MigrationContext.autocommit_block


def autocommit_block(self):
    if current[0] is not None and current[0][1] not in result["no_transaction"]:
        result["no_transaction"].append(current[0][1])
    return original_block(self)


MigrationContext.autocommit_block = autocommit_block

# Reads of the server's catalogs (reflection, version checks) change nothing.
CATALOG_READ = re.compile(r"^\s*(SELECT|SHOW|WITH)\b.*\b(pg_catalog|information_schema|sqlite_master|pg_namespace|pg_class)\b",
                          re.I | re.S)


def render(cursor, statement, parameters):
    # The exact text the driver sends: its own interpolation of the same
    # parameters (an empty mapping too: it turns `%%` into `%`).
    if isinstance(parameters, Mapping):
        parameters = dict(parameters)
    mogrify = getattr(cursor, "mogrify", None)
    raw = getattr(cursor, "_cursor", cursor)  # SQLAlchemy's async adapters wrap the driver's cursor
    if mogrify is None and type(raw).__module__.startswith("psycopg"):
        # psycopg 3 binds on the server; its client-side cursor renders the same text.
        import psycopg
        client = psycopg.AsyncClientCursor if isinstance(raw.connection, psycopg.AsyncConnection) else psycopg.ClientCursor
        mogrify = client(raw.connection).mogrify
    if mogrify is not None:
        text = mogrify(statement, parameters)
        return text.decode() if isinstance(text, bytes) else text
    if not parameters:
        return statement
    raise RuntimeError("the database driver %s cannot show the SQL it sends with parameters; "
                       "use psycopg2 (postgresql+psycopg2://) or PyMySQL" % type(cursor).__module__)


def parameter_sets(parameters, executemany):
    # executemany: a list of sets, or one set SQLAlchemy already folded into
    # a multi-row statement (insertmanyvalues).
    if executemany and isinstance(parameters, (list, tuple)) and all(
            isinstance(p, (Mapping, list, tuple)) for p in parameters):
        return list(parameters)
    return [parameters]


@event.listens_for(Engine, "before_cursor_execute")
def capture(conn, cursor, statement, parameters, context, executemany):
    if current[0] is None:
        return
    direction, rev = current[0]
    if CATALOG_READ.match(statement):
        return
    out = (result["upgrades"] if direction == "up" else result["downgrades"])[rev]
    for params in parameter_sets(parameters, executemany):
        out.append(render(cursor, statement, params).strip())


def stage(name, fn):
    try:
        fn()
        return True
    except BaseException as e:
        # A migration's own failure is already recorded, with its revision.
        if result["failed"] is None:
            result["failed"] = {"stage": name, "revision": None,
                                "message": "".join(traceback.format_exception_only(type(e), e)).strip()}
        return False


def upgrade():
    for target in request["upgrade_to"]:
        command.upgrade(cfg, target)


if request["upgrade_to"] and not stage("upgrade", upgrade):
    finish()
    sys.exit(0)
if not request["capture_upgrade"]:
    result["upgrade_order"] = []
    result["upgrades"] = {}
if request["downgrade"]:
    stage("downgrade", lambda: command.downgrade(cfg, "base"))
finish()
