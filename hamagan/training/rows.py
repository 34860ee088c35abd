"""HMH rows for training: a folder built by ``hamagan dataset build``, a ``save_to_disk`` folder, or a Hub id."""

from __future__ import annotations

from pathlib import Path

import datasets

from hamagan.data.builder import load_built


def load_rows(source: str, split: str) -> datasets.Dataset | None:
    """The ``split`` of an HMH dataset, or None when it has no such split."""
    path = Path(source)
    if (path / "data").is_dir():
        built = load_built(path)
    elif (path / "dataset_dict.json").exists() or (path / "arrow" / "dataset_dict.json").exists():
        built = datasets.load_from_disk(str(path if (path / "dataset_dict.json").exists() else path / "arrow"))
    elif path.exists():
        raise FileNotFoundError(f"{source}: not a built HMH dataset (no data/ shards or save_to_disk folder)")
    else:
        built = datasets.load_dataset(source)
    return built[split] if split in built else None


def move_sources(train: datasets.Dataset, validation: datasets.Dataset | None,
                 sources: set[str]) -> tuple[datasets.Dataset, datasets.Dataset | None]:
    """Move the rows of the portraits ``sources`` from ``train`` to the end of ``validation`` (a
    cross-validation fold, when the fixed split has too few validation portraits to choose by)."""
    if not sources:
        return train, validation
    ids = train["source_id"]
    missing = sorted(sources - set(ids))
    if missing:
        raise ValueError(f"validation_sources {missing} are not in the training split")
    moved = [i for i, source in enumerate(ids) if source in sources]
    kept = [i for i, source in enumerate(ids) if source not in sources]
    extra = train.select(moved)
    return train.select(kept), extra if validation is None else datasets.concatenate_datasets([validation, extra])
