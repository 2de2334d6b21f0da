"""Data-key rotation: every encrypted column, re-encrypted under the current key.

Each domain registers its encrypted columns next to its models, so `redflag
reencrypt` covers all of them. Values already under the current key are left alone,
so an interrupted run can simply be started again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, SQLModel, col, select

from app.crypto import FieldCipher


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[SQLModel]
    attribute: str
    purpose: str


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def encrypted_column(model: type[SQLModel], attribute: str, purpose: str) -> str:
    """Register a column holding FieldCipher output; returns its purpose string."""
    ENCRYPTED_COLUMNS.append(EncryptedColumn(model, attribute, purpose))
    return purpose


def reencrypt_all(session: Session, *, cipher: FieldCipher, batch: int = 500) -> dict[str, int]:
    """Re-encrypt what is not under the current key; counts per column. Flushes per batch."""
    counts = {}
    for column in ENCRYPTED_COLUMNS:
        attr = getattr(column.model, column.attribute)
        done = 0
        rows = session.exec(select(column.model).where(col(attr).is_not(None))).all()
        for row in rows:
            blob = getattr(row, column.attribute)
            if not cipher.encrypted_with_current_key(blob):
                setattr(row, column.attribute, cipher.reencrypt(blob, purpose=column.purpose))
                session.add(row)
                done += 1
                if done % batch == 0:
                    session.flush()
        session.flush()
        counts[f"{column.model.__tablename__}.{column.attribute}"] = done
    return counts
