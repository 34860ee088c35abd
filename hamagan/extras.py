"""Optional parts of the install: a plain ``pip install hamagan`` gives the pipeline; each extra adds what one
kind of work needs, and a command that needs a missing one says which to install."""

from __future__ import annotations

import importlib.util

EXTRAS: dict[str, tuple[str, ...]] = {
    "space": ("gradio",),
    "dataset": ("datasets", "pyarrow"),
    "classic": ("pymatting",),
    "train": ("accelerate", "datasets", "pyarrow", "yaml", "tensorboard", "pymatting"),
}


class MissingExtraError(ImportError):
    """A feature was asked for whose optional packages are not installed."""


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError`, naming the extra to install, when ``feature`` cannot run here."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(f"{feature} needs the [{extra}] extra (missing: {', '.join(missing)}); install it with "
                           f"pip install 'hamagan[{extra}]'")
