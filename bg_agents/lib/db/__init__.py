"""Application database: SQLAlchemy 2.0 models, engine, upserts and Alembic migrations."""
