"""The TinyDB tables a store hands out (``tx.table(name)``, ``view.table(name)``).

TinyDB numbers its documents; a store's records carry their own ``"id"``, so these tables use
that string as the document id. Separate from :mod:`mendcrm.store.store` because it is only the
adaptation of TinyDB's ``Table`` (and its type annotations) to string ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, overload

from tinydb.queries import QueryLike
from tinydb.table import Document, Table


class StoreTable(Table):
    """A TinyDB table whose document ids are the records' own ``"id"`` strings.

    ``insert`` takes the id from the record, so ``table.get(doc_id=record_id)`` finds it.
    """

    document_id_class = str  # type: ignore[assignment]

    def insert(self, document: Mapping[str, Any]) -> str:  # type: ignore[override]
        return super().insert(_keyed(document))  # type: ignore[return-value]

    def insert_multiple(self, documents: Iterable[Mapping[str, Any]]) -> list[str]:  # type: ignore[override]
        return super().insert_multiple([_keyed(d) for d in documents])  # type: ignore[return-value]

    # TinyDB annotates document ids as int; these overrides only restate its methods with the
    # string ids this table uses, so callers type-check.

    @overload  # type: ignore[override]
    def get(
        self, cond: QueryLike, doc_id: None = None, doc_ids: None = None
    ) -> Document | None: ...

    @overload
    def get(self, cond: None = None, *, doc_id: str, doc_ids: None = None) -> Document | None: ...

    @overload
    def get(
        self, cond: None = None, *, doc_id: None = None, doc_ids: list[str]
    ) -> list[Document]: ...

    def get(
        self,
        cond: QueryLike | None = None,
        doc_id: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> Document | list[Document] | None:
        return super().get(cond, doc_id, doc_ids)  # type: ignore[arg-type]

    def contains(self, cond: QueryLike | None = None, doc_id: str | None = None) -> bool:  # type: ignore[override]
        return super().contains(cond, doc_id)  # type: ignore[arg-type]

    def update(  # type: ignore[override]
        self,
        fields: Mapping[str, Any] | Callable[[MutableMapping[str, Any]], None],
        cond: QueryLike | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> list[str]:
        return super().update(fields, cond, doc_ids)  # type: ignore[arg-type, return-value]

    def remove(  # type: ignore[override]
        self, cond: QueryLike | None = None, doc_ids: Iterable[str] | None = None
    ) -> list[str]:
        return super().remove(cond, doc_ids)  # type: ignore[arg-type, return-value]

    def _get_next_id(self) -> str:
        # Stock TinyDB counts ids; here every id comes from the record, so reaching this is a bug.
        raise ValueError("store records carry their own 'id'; none was given")


class ReadOnlyTable(StoreTable):
    """A :class:`StoreTable` over a read snapshot: queries work, every change is refused."""

    def _update_table(self, updater: Any) -> None:
        # Refuse before TinyDB's updater runs: it edits documents in place, and these are the
        # shared snapshot's.
        raise TypeError("a read view cannot change the store; use store.transaction()")


def _keyed(document: Mapping[str, Any]) -> Document:
    record_id = document.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a store record needs a non-empty string 'id', got {record_id!r}")
    if isinstance(document, Document) and document.doc_id != record_id:
        raise ValueError(f"document id {document.doc_id!r} differs from record id {record_id!r}")
    return Document(dict(document), doc_id=record_id)  # type: ignore[arg-type]


__all__ = ["ReadOnlyTable", "StoreTable"]
