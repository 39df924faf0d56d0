"""`Dataset`: a named, versioned collection of examples.

    golden = loopline.Dataset("digits-golden", X, y, ids=ids, tags={"hard": hard_ids},
                              display="image 8x8").save(message="golden split")
    train = loopline.Dataset.load("digits-train@3")
    bigger = train.append(new_X, new_y, lineage={"source": "labeling"}).save()
    print(bigger.diff(train))
    reviews = loopline.Dataset.from_table("reviews", Query("SELECT * FROM reviews"), key="id",
                                          label="label", features="text")   # a new version

A Dataset value is immutable: `append` and `remove` return new values, and `save()` records
a new immutable version (saving the same examples again returns the existing version). Every
example has a stable id, its tags, metadata columns and lineage (where it came from). Datasets
are plain values, so funcs take and return them like any other.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets import examples
from loopline.cl.datasets.tables import TableColumns
from loopline.cl.store.errors import DatasetNotFoundError
from loopline.cl.store.provenance import current_run_id, current_user
from loopline.cl.store.records import DatasetSource, DatasetVersion
from loopline.cl.store.workspace import resolve
from loopline.core import html
from loopline.core.records import utcnow
from loopline.core.serialization import short_repr
from loopline.data import Snapshot, TableSource, snapshot
from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from loopline.cl.store.workspace import Workspace

DISPLAY_KINDS = ("image", "text", "table", "array")
_POSITIONS: weakref.WeakKeyDictionary[Dataset, dict[str, int]] = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True)
class DatasetDiff:
    """How `new` differs from `old`: example ids added, removed, and changed (features or label)."""

    old: str
    new: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.old} -> {self.new}: +{len(self.added)} added, -{len(self.removed)} removed, "
            f"~{len(self.changed)} changed"
        )


@dataclasses.dataclass(frozen=True, init=False, eq=False)
class Dataset:
    """Examples: `features` (array, DataFrame or list; one entry per example), `labels`, stable
    `ids`, boolean `tags` masks, `metadata` and `lineage` columns, and a `display` hint.

    - `ids`: unique per example; default: a digest of the example's features and label.
    - `tags`: `{"hard": [ids...]}` (or boolean masks), or one list of tags per example.
    - `metadata`: columns (a dict of arrays or a DataFrame), e.g. `{"brightness": b}`.
    - `lineage`: columns saying where each example came from; `source` defaults to "import".
    - `display`: how to show an example: "image 8x8", "image", "text", "table" or "array".
    """

    name: str
    ids: NDArray[np.str_]
    features: Any
    labels: NDArray[Any] | None
    tags: dict[str, NDArray[np.bool_]]
    metadata: dict[str, NDArray[Any]]
    lineage: dict[str, NDArray[Any]]
    display: str
    version: int | None
    parent: int | None

    def __init__(
        self,
        name: str,
        features: Any,
        labels: Any = None,
        *,
        ids: Sequence[str] | Any = None,
        tags: Mapping[str, Any] | Sequence[Sequence[str]] | None = None,
        metadata: Mapping[str, Any] | Any = None,
        lineage: Mapping[str, Any] | None = None,
        display: str = "",
    ) -> None:
        import numpy as np

        if not isinstance(name, str) or not name or "@" in name or name != name.strip():
            raise UsageError(f"Dataset(name=...) must be a non-empty name without '@', got {name!r}")
        n = examples.length(features, "Dataset(features=...)")
        label_array = None if labels is None else examples.as_column(labels, n, "Dataset(labels=...)")
        if ids is None:
            ids = examples.content_ids(_content(features, label_array))
        id_array = examples.unique_ids(ids, n, "Dataset(ids=...)")
        metadata_columns = _columns(metadata, n, "metadata")
        lineage_columns = _columns(lineage, n, "lineage")
        lineage_columns.setdefault("source", np.full(n, "import"))
        self._set(
            name=name,
            ids=id_array,
            features=features,
            labels=label_array,
            tags=_tag_masks(tags, id_array),
            metadata=metadata_columns,
            lineage=lineage_columns,
            display=parse_display(display),
            version=None,
            parent=None,
        )

    def _set(self, **fields: Any) -> None:
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def _evolve(self, **changes: Any) -> Dataset:
        """A copy with some fields replaced (not validated again: callers keep them consistent)."""
        clone = object.__new__(Dataset)
        clone._set(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        clone._set(**changes)
        return clone

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"<Dataset {self.ref}: {len(self)} examples>"

    def _repr_html_(self) -> str:
        """In Jupyter: its size, tags, columns, the first examples (pictures for images), linked
        to the version's page in the dashboard once saved."""
        facts = [
            ("examples", len(self)),
            ("labels", None if self.labels is None else f"{len(set(self.labels.tolist()))} distinct"),
            (
                "tags",
                ", ".join(f"{tag} ({int(mask.sum())})" for tag, mask in sorted(self.tags.items())) or None,
            ),
            ("metadata", ", ".join(sorted(self.metadata)) or None),
            ("display", self.display or None),
            (
                "derived from",
                None if self.parent is None or self.version is not None else f"{self.name}@{self.parent}",
            ),
        ]
        link = "" if self.version is None else html.dashboard_path("datasets", self.name, str(self.version))
        return html.card(
            html.Markup(f"dataset {html.code(self.ref)}"), facts, self._examples_html(), link=link
        )

    def _examples_html(self, limit: int = 12) -> html.Markup:
        """The first examples: pictures side by side for images, else a short table."""
        import numpy as np

        shown = min(limit, len(self))
        if not shown:
            return html.Markup("")
        features = examples.take(self.features, np.arange(shown))
        values = [
            features.iloc[i].to_dict() if examples.is_dataframe(features) else features[i]
            for i in range(shown)
        ]
        labels = [None if self.labels is None else self.labels[i] for i in range(shown)]
        pictures = [html.thumbnail(value, self.display) for value in values]
        if all(picture is not None for picture in pictures):
            captions = [f"{self.ids[i]}: {html.render(labels[i])}" for i in range(shown)]
            return html.gallery(zip(pictures, captions), total=len(self))  # type: ignore[arg-type]
        rows = [
            (html.code(str(self.ids[i])), short_repr(values[i], 80), labels[i]) for i in range(min(shown, 5))
        ]
        return html.table(["id", "features", "label"], rows, total=len(self))

    @property
    def ref(self) -> str:
        """`name@version`, or `name (unsaved)`."""
        return f"{self.name}@{self.version}" if self.version is not None else f"{self.name} (unsaved)"

    @property
    def _positions(self) -> dict[str, int]:
        # Kept outside the instance: attributes beyond the fields would change how it is stored.
        index = _POSITIONS.get(self)
        if index is None:
            index = _POSITIONS[self] = {example_id: i for i, example_id in enumerate(self.ids.tolist())}
        return index

    def positions(self, ids: Iterable[str] | str) -> NDArray[np.intp]:
        """Where these example ids (or this one id) are (UsageError naming the ids that are not
        in the dataset)."""
        import numpy as np

        wanted = [ids] if isinstance(ids, str) else [str(i) for i in ids]
        index = self._positions
        missing = [i for i in wanted if i not in index]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise UsageError(f"{self.ref} has no example with id {shown}")
        return np.array([index[i] for i in wanted], dtype=np.intp)

    def example(self, example_id: str) -> dict[str, Any]:
        """One example: id, features, label, tags, metadata and lineage."""
        i = int(self.positions([example_id])[0])
        return {
            "id": example_id,
            "features": examples.take(self.features, self.positions([example_id]))[0],
            "label": None if self.labels is None else self.labels[i],
            "tags": sorted(tag for tag, mask in self.tags.items() if mask[i]),
            "metadata": {k: v[i] for k, v in self.metadata.items()},
            "lineage": {k: v[i] for k, v in self.lineage.items()},
        }

    def tagged(self, tag: str) -> NDArray[np.bool_]:
        """The mask of examples carrying `tag` (UsageError listing the tags there are)."""
        try:
            return self.tags[tag]
        except KeyError:
            known = ", ".join(sorted(self.tags)) or "none"
            raise UsageError(f"{self.ref} has no tag {tag!r}; its tags: {known}") from None

    def select(self, which: Any) -> Dataset:
        """The examples at these positions or under this boolean mask (same name, unsaved)."""
        import numpy as np

        chosen = np.asarray(which)
        n = len(self)
        if chosen.dtype == bool:
            if chosen.shape != (n,):
                raise UsageError(
                    f"Dataset.select: a mask needs one bool per example of {self.ref} ({n}), "
                    f"got shape {chosen.shape}"
                )
            return self._take(np.flatnonzero(chosen))
        if chosen.size and (chosen.ndim != 1 or chosen.dtype.kind not in "iu"):
            raise UsageError(
                f"Dataset.select takes a list of positions (ints) or a boolean mask, got "
                f"{chosen.dtype} values of shape {chosen.shape}; to pick examples by id, use subset(ids)"
            )
        outside = chosen[(chosen < -n) | (chosen >= n)]
        if len(outside):
            raise UsageError(
                f"Dataset.select: position {outside[0]} is out of range: {self.ref} has {n} "
                f"example(s), at positions 0 to {n - 1}"
            )
        return self._take(chosen.astype(np.intp))

    def with_metadata(self, **columns: Any) -> Dataset:
        """The same examples with these metadata columns added (or replaced)."""
        added = _columns(columns, len(self), "metadata")
        return self._evolve(metadata={**self.metadata, **added}, version=None)

    def subset(self, ids: Iterable[str] | str) -> Dataset:
        """The examples with these ids (or this one id), in this order."""
        return self._take(self.positions(ids))

    def _take(self, positions: NDArray[np.intp]) -> Dataset:
        return self._evolve(
            ids=self.ids[positions],
            features=examples.take(self.features, positions),
            labels=None if self.labels is None else self.labels[positions],
            tags={k: v[positions] for k, v in self.tags.items()},
            metadata={k: v[positions] for k, v in self.metadata.items()},
            lineage={k: v[positions] for k, v in self.lineage.items()},
            version=None,
            parent=self.version if self.version is not None else self.parent,
        )

    def fingerprints(self) -> NDArray[np.str_]:
        """One digest per example of its features alone (equal inputs, equal digests)."""
        return examples.fingerprints(self.features)

    # -- deriving new values -----------------------------------------------------------------

    def append(
        self,
        features: Any,
        labels: Any = None,
        *,
        ids: Sequence[str] | Any = None,
        tags: Mapping[str, Any] | Sequence[Sequence[str]] | None = None,
        metadata: Mapping[str, Any] | Any = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """These examples (or another Dataset's) added at the end; ids must be new."""
        import numpy as np

        more = (
            features
            if isinstance(features, Dataset)
            else Dataset(self.name, features, labels, ids=ids, tags=tags, metadata=metadata, lineage=lineage)
        )
        clash = np.intersect1d(self.ids, more.ids)
        if len(clash):
            shown = ", ".join(clash[:5].tolist())
            raise UsageError(
                f"cannot append to {self.ref}: {len(clash)} example id(s) exist already ({shown}); "
                "give new ids, or remove() the old examples first"
            )
        if (self.labels is None) != (more.labels is None):
            raise UsageError(f"cannot append to {self.ref}: give labels for all examples or for none")
        n_old, n_new = len(self), len(more)
        return self._evolve(
            ids=np.concatenate([self.ids, more.ids]),
            features=examples.concat(self.features, more.features, "features"),
            labels=None if self.labels is None else np.concatenate([self.labels, more.labels]),
            tags=_joined(self.tags, more.tags, n_old, n_new, False),
            metadata=_joined(self.metadata, more.metadata, n_old, n_new, None),
            lineage=_joined(self.lineage, more.lineage, n_old, n_new, ""),
            version=None,
            parent=self.version if self.version is not None else self.parent,
        )

    def remove(self, ids: Iterable[str] | str) -> Dataset:
        """The dataset without these examples, or this one (UsageError for ids it does not have)."""
        import numpy as np

        keep = np.ones(len(self), dtype=bool)
        keep[self.positions(ids)] = False
        return self._take(np.flatnonzero(keep))

    def diff(self, old: Dataset) -> DatasetDiff:
        """What changed from `old` to this dataset, by example id."""
        import numpy as np

        added = np.setdiff1d(self.ids, old.ids)
        removed = np.setdiff1d(old.ids, self.ids)
        common = np.intersect1d(self.ids, old.ids)
        mine = (
            _content(self.features, self.labels)[self.positions(common.tolist())] if len(common) else common
        )
        theirs = _content(old.features, old.labels)[old.positions(common.tolist())] if len(common) else common
        changed = common[mine != theirs] if len(common) else common
        return DatasetDiff(old.ref, self.ref, _strings(added), _strings(removed), _strings(changed))

    # -- the store ---------------------------------------------------------------------------

    def save(
        self,
        message: str = "",
        *,
        force: bool = False,
        source: DatasetSource | None = None,
        candidate: bool = False,
        workspace: Workspace | None = None,
    ) -> Dataset:
        """Record these examples as the next version of `name` and return the saved value.

        Saving the same examples as the latest version returns that version instead. A dataset
        derived from a version (`append`, `remove`, ...) is saved only if that version is still
        the latest (DatasetConflictError otherwise, so concurrent changes are never silently
        lost); `force=True` saves it anyway. `source` records the table the examples came
        from (`from_table` gives it). `candidate=True` saves a proposed change: a
        version that is not the latest until it is made canonical (a loop round's labels, made
        canonical when its model passes the gate or a person accepts them)."""

        ws = resolve(workspace)
        unsaved = self._evolve(version=None, parent=None)
        record = ws.put(unsaved)
        try:
            latest = ws.store.get_dataset_version(self.name)
        except DatasetNotFoundError:
            latest = None
        if latest is not None and latest.artifact_id == record.id:
            return self._evolve(version=latest.version, parent=latest.parent)
        parent = self.version if self.version is not None else self.parent
        if parent is None and latest is not None:
            parent = latest.version
        added, removed, changed = len(self), 0, 0
        if parent is not None:
            change = self.diff(Dataset.load(self.name, version=parent, workspace=ws))
            added, removed, changed = len(change.added), len(change.removed), len(change.changed)
        saved = ws.store.add_dataset_version(
            DatasetVersion(
                name=self.name,
                version=0,
                artifact_id=record.id,
                size=len(self),
                added=added,
                removed=removed,
                changed=changed,
                parent=parent,
                created_at=utcnow(),
                created_by=current_user(),
                message=message,
                run_id=current_run_id(),
                display=self.display,
                source=source,
                state="candidate" if candidate else "canonical",
            ),
            expected_latest=None if force else (parent or 0),
        )
        return self._evolve(version=saved.version, parent=parent)

    @classmethod
    def from_table(
        cls,
        name: str,
        source: TableSource | Snapshot,
        *,
        key: str,
        label: str | None = None,
        features: str | Sequence[str] | None = None,
        metadata: Sequence[str] = (),
        display: str = "",
        message: str = "",
        force: bool = False,
        workspace: Workspace | None = None,
    ) -> Dataset:
        """Import a table as the next version of dataset `name` and return it (saved).

            Dataset.from_table("reviews", Query("SELECT * FROM reviews", url="duckdb:///w.duckdb"),
                               key="id", label="label", features="text")

        The source (`loopline.data.Query`, `Table`, `Files`, or a Snapshot a func received) is
        snapshotted and the snapshot stored as an artifact; each row becomes an example whose id
        is its `key` (which must be unique), with lineage `source="table"` and `row_key`.
        `features` names one column (its values are the features) or several (a DataFrame);
        by default every column but the key, the label and the `metadata` columns. The version
        records where it came from: `DatasetVersion.source` (query, URL, snapshot, time)."""
        ws = resolve(workspace)
        rows = snapshot(source)
        columns = TableColumns.choose(rows, key=key, label=label, features=features, metadata=metadata)
        stored = ws.put(rows)
        dataset = cls(name, **columns.examples(rows), display=display)
        origin = rows.origin
        provenance = DatasetSource(
            snapshot_id=stored.id,
            kind=origin.kind,
            url=origin.url,
            key=key,
            rows=rows.num_rows,
            taken_at=rows.taken_at or stored.created_at,
            query=origin.query,
            table=origin.table,
        )
        note = message or f"imported from {origin.describe()}"
        return dataset.save(note, force=force, source=provenance, workspace=ws)

    @classmethod
    def from_command_line(cls, text: str) -> Dataset:
        """A `Dataset` parameter given on the command line (`loopline run ... --data NAME@VERSION`):
        that saved version, or the latest with just the name."""
        try:
            parse_ref(text, "dataset")
        except UsageError:
            raise UsageError("give a dataset as NAME@VERSION, e.g. digits-train@3") from None
        return cls.load(text)

    @classmethod
    def load(cls, ref: str, *, version: int | None = None, workspace: Workspace | None = None) -> Dataset:
        """A saved version: `Dataset.load("digits-golden@2")`, or the latest with just the name."""

        name, at = parse_ref(ref, "dataset")
        if at is not None and version is not None and at != version:
            raise UsageError(f"Dataset.load({ref!r}, version={version}) names two versions; give one")
        ws = resolve(workspace)
        record = ws.store.get_dataset_version(name, at if at is not None else version)
        value = ws.get(record.artifact_id)
        if not isinstance(value, Dataset):
            raise UsageError(f"artifact {record.artifact_id} of {record.ref} is not a Dataset")
        return value._evolve(version=record.version, parent=record.parent)

    @staticmethod
    def versions(name: str, *, workspace: Workspace | None = None) -> list[DatasetVersion]:
        """Every saved version of the dataset, oldest first."""

        return resolve(workspace).store.dataset_versions(name)


def parse_ref(ref: str, what: str) -> tuple[str, int | None]:
    """`"name@3"` -> ("name", 3); `"name"` -> ("name", None)."""
    if not isinstance(ref, str):
        raise UsageError(f"a {what} reference is a string like 'digits@2' (or 'digits'), got {ref!r}")
    name, sep, version = ref.partition("@")
    if not name or (sep and not version.isdigit()):
        raise UsageError(f"{ref!r} is not a {what} reference: use NAME or NAME@VERSION (e.g. digits@2)")
    return name, int(version) if sep else None


def parse_display(text: str) -> str:
    """Checks a display hint: "", "image", "image 8x8", "text", "table" or "array"."""
    kind, _, shape = text.strip().lower().replace("\N{MULTIPLICATION SIGN}", "x").partition(" ")
    if not kind:
        return ""
    if kind not in DISPLAY_KINDS:
        raise UsageError(f"display={text!r}: use one of {', '.join(DISPLAY_KINDS)} (e.g. 'image 8x8')")
    if shape:
        parts = shape.split("x")
        if kind != "image" or len(parts) not in (2, 3) or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise UsageError(f"display={text!r}: only images take a shape, written like 'image 8x8'")
        return f"image {'x'.join(parts)}"
    return kind


def _content(features: Any, labels: NDArray[Any] | None) -> NDArray[np.str_]:
    """One digest per example of its features and label."""
    digests = examples.fingerprints(features)
    return digests if labels is None else examples.combined(digests, examples.fingerprints(labels))


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values.tolist())


def _columns(columns: Any, n: int, what: str) -> dict[str, Any]:
    """Columns from a dict of array-likes or a DataFrame, one value per example."""
    if columns is None:
        return {}
    if examples.is_dataframe(columns):
        columns = {str(c): columns[c] for c in columns.columns}
    if not isinstance(columns, Mapping):
        raise UsageError(f"Dataset({what}=...) must be a dict of columns or a DataFrame")
    return {str(k): examples.as_column(v, n, f"Dataset({what}[{k!r}])") for k, v in columns.items()}


def _tag_masks(
    tags: Mapping[str, Any] | Sequence[Sequence[str]] | None, ids: NDArray[np.str_]
) -> dict[str, Any]:
    import numpy as np

    n = len(ids)
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        masks = {}
        for tag, members in tags.items():
            array = np.asarray(members)
            if array.dtype == bool:
                if array.shape != (n,):
                    raise UsageError(f"Dataset(tags[{tag!r}]) mask must have one entry per example ({n})")
                masks[str(tag)] = array
            else:
                mask = np.isin(ids, array.astype(str))
                if mask.sum() != len(set(array.astype(str).tolist())):
                    unknown = sorted(set(array.astype(str).tolist()) - set(ids.tolist()))[:5]
                    raise UsageError(f"Dataset(tags[{tag!r}]) names ids that are not examples: {unknown}")
                masks[str(tag)] = mask
        return masks
    if len(tags) != n:
        raise UsageError(
            f"Dataset(tags=...) as a list needs one list of tags per example ({n}), got {len(tags)}"
        )
    names = sorted({str(tag) for example_tags in tags for tag in example_tags})
    masks = {name: np.zeros(n, dtype=bool) for name in names}
    for i, example_tags in enumerate(tags):
        for tag in example_tags:
            masks[str(tag)][i] = True
    return masks


def _joined(
    first: dict[str, Any], second: dict[str, Any], n_first: int, n_second: int, fill: Any
) -> dict[str, Any]:
    """Columns of both, a column missing on one side filled with `fill`."""
    import numpy as np

    out = {}
    for key in sorted(set(first) | set(second)):
        a = first[key] if key in first else np.full(n_first, fill)
        b = second[key] if key in second else np.full(n_second, fill)
        if a.dtype.kind != b.dtype.kind:
            a, b = a.astype(object), b.astype(object)
        out[key] = np.concatenate([a, b])
    return out
