"""Prints the alembic revision the installed Optuna stamps on a new SQLite database: python3 schema_revision.py FILE."""
import sqlite3
import sys

import optuna


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.storages.RDBStorage("sqlite:///" + sys.argv[1])
    with sqlite3.connect(sys.argv[1]) as connection:
        print(optuna.__version__, connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


if __name__ == "__main__":
    main()
