"""redflag: anonymous incident reports, moderation and alerts for sex workers.

`app` is the shell and the intake: settings, database, crypto, i18n, the report
domain, the public pages and the CLI. `moderation` and `alerts` build on it.
"""

from sqlmodel import SQLModel

# Every table in every domain is declared after this package is imported, so the
# naming convention set here names all their constraints the same way, which keeps
# the migrations' constraint names stable across SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__version__ = "0.1.0"
