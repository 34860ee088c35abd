"""The Space: rating store and statistics, study plans, and the launched app through gradio_client."""

from __future__ import annotations

import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.samples import TEST_PORTRAITS, background_paths, portrait_paths
from hamagan.space.ratings import RatingError, RatingStore, consistency, summarize
from hamagan.space.study import Study

RANDOM = "random (the paper's protocol)"


def test_store_is_append_only_and_refuses_bad_ratings(tmp_path: Path) -> None:
    store = RatingStore(tmp_path / "r.sqlite")
    rater = store.new_rater("s")
    store.add("s", rater, 0, "item-a", "ours", 4)
    with pytest.raises(RatingError, match="already rated"):
        store.add("s", rater, 0, "item-a", "ours", 5)
    for bad in (0, 6, 3.5, "4", True):
        with pytest.raises(RatingError, match="whole number from 1"):
            store.add("s", rater, 1, "item-b", "ours", bad)
    with sqlite3.connect(tmp_path / "r.sqlite") as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE ratings SET score = 1")
    with sqlite3.connect(tmp_path / "r.sqlite") as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM ratings")
    assert [(r["slot"], r["score"]) for r in store.ratings("s")] == [(0, 4)]
    assert store.to_csv("s").splitlines()[0] == "id,study,rater_id,slot,item_id,method,score,created"


def test_statistics_are_over_raters() -> None:
    def rows(rater, scores, method="ours"):
        return [{"rater_id": rater, "method": method, "item_id": f"i{k}", "slot": k, "score": s}
                for k, s in enumerate(scores)]
    # Rater means 4.0 (4, 4), 2.0 (1, 3), 3.0: MOS 3.0, SD 1.0, CI t(0.975, 2) = 4.303 * 1 / sqrt(3) = 2.484.
    ratings = rows("a", [4, 4]) + rows("b", [1, 3]) + rows("c", [3]) + rows("a", [5], "real")
    ours = {r.method: r for r in summarize(ratings)}["ours"]
    assert (ours.mos, ours.sd, ours.raters, ours.ratings) == (3.0, 1.0, 3, 5)
    assert ours.ci95 == pytest.approx(2.4841, abs=1e-3)
    # Rater a saw item i0 twice (slots 0 and 5): scores 4 and 2 -> |difference| 2.
    repeated = rows("a", [4]) + [{"rater_id": "a", "method": "ours", "item_id": "i0", "slot": 5, "score": 2}]
    assert consistency(repeated) == {"pairs": 1, "mean_abs_difference": 2.0, "identical": 0.0}


def test_study_plans_are_per_rater_with_repeats_in_their_own_slots(study: Study) -> None:
    assert {i.method for i in study.items} == {"composite", "reinhard", "ours", "real"}
    a, b = study.plan("rater-a"), study.plan("rater-b")
    assert a == study.plan("rater-a") and [s.item for s in a] != [s.item for s in b]
    assert len(a) == len(study.items) + study.repeats
    assert sorted({s.item.item_id for s in a}) == sorted(i.item_id for i in study.items)
    repeats = [s for s in a if s.repeat]
    assert len(repeats) == study.repeats and all(s.slot >= len(a) // 2 for s in repeats)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def test_compose_endpoint_returns_every_layer_at_full_size(app_url, tmp_path: Path) -> None:
    from gradio_client import handle_file

    url, _, outside = app_url
    portrait = tmp_path / "p.jpg"
    Image.open(portrait_paths(TEST_PORTRAITS[1])[0]).resize((300, 200)).save(portrait)
    wide = tmp_path / "wide.png"
    Image.open(background_paths()[0]).resize((600, 100)).save(wide)  # another aspect ratio: fitted
    client = _client(url)
    alpha, trimap, composite, harmonized, downloads, message = client.predict(
        handle_file(str(portrait)), "automatic", None, None, "my upload", handle_file(str(wide)), "background",
        api_name="/compose")
    assert re.fullmatch(r"found 1 person \(composed in \d+\.\d\d s\)", message)
    for path, mode in ((alpha, "L"), (trimap, "L"), (composite, "RGB"), (harmonized, "RGB")):
        image = Image.open(path)
        assert image.size == (300, 200) and image.mode == mode and image.format == "PNG"
    assert sorted(Path(d).name for d in downloads) == ["cutout.png", "harmonized.png"]
    assert Image.open([d for d in downloads if d.endswith("cutout.png")][0]).mode == "RGBA"
    assert not np.array_equal(np.asarray(Image.open(harmonized)), np.asarray(Image.open(composite)))
    # The strength slider at 0: the harmonized image is the plain composite.
    _, _, composite, harmonized, _, _ = client.predict(
        handle_file(str(portrait)), "automatic", None, None, "my upload", handle_file(str(wide)), "background", 0,
        api_name="/compose")
    np.testing.assert_array_equal(np.asarray(Image.open(harmonized)), np.asarray(Image.open(composite)))
    # The refinement checkbox: the matte changes (inside the unknown band only).
    refined = client.predict(handle_file(str(portrait)), "automatic", None, None, "my upload", handle_file(str(wide)),
                             "background", 1, "all", True, api_name="/compose")[0]
    plain, changed = np.asarray(Image.open(alpha)), np.asarray(Image.open(refined))
    band = np.asarray(Image.open(trimap)) == 128
    assert not np.array_equal(plain, changed) and np.array_equal(plain[~band], changed[~band])
    assert outside == []  # starting and composing stay on this machine


def test_bad_uploads_get_clear_messages(app_url, tmp_path: Path) -> None:
    from gradio_client import handle_file

    client = _client(app_url[0])
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(Exception, match="not a readable image"):
        client.predict(handle_file(str(tmp_path / "notes.jpg")), "automatic", None, None, RANDOM, None,
                       "background", api_name="/compose")
    Image.new("RGB", (5200, 5000)).save(tmp_path / "huge.png")
    with pytest.raises(Exception, match="26 megapixels; the limit is 25"):
        client.predict(handle_file(str(tmp_path / "huge.png")), "automatic", None, None, RANDOM, None,
                       "background", api_name="/compose")
    with pytest.raises(Exception, match="upload a trimap"):
        client.predict(handle_file(str(portrait_paths(TEST_PORTRAITS[0])[0])), "upload", None, None, RANDOM, None,
                       "background", api_name="/compose")


def test_rating_endpoints_store_each_rating_once_and_refuse_bad_ones(app_url) -> None:
    url, services, _ = app_url
    client = _client(url)
    rater, image, slot, progress, _ = client.predict(api_name="/start")
    assert slot == 0 and Path(image).exists() and progress.startswith("Item 1 of")
    for _ in range(3):
        image, slot, progress, _ = client.predict(rater, slot, 4, api_name="/rate")
    assert slot == 3 and progress.startswith("Item 4 of")
    for bad_args, message in (((rater, 0, 5), "already rated"), ((rater, 999, 3), "unknown item"),
                              ((rater, 3, 7), "not in the list of choices"), (("nobody", 3, 3), "unknown rater")):
        with pytest.raises(Exception, match=message):
            client.predict(*bad_args, api_name="/rate")
    stored = [r for r in services.store.ratings(services.study.study_id) if r["rater_id"] == rater]
    assert [(r["slot"], r["score"]) for r in stored] == [(0, 4), (1, 4), (2, 4)]
    table, chart, text, csv_path = client.predict(api_name="/results")
    assert sum(row[6] for row in table["data"]) == len(services.store.ratings(services.study.study_id))
    assert Image.open(chart).size[0] > 400 and Path(csv_path).read_text().count("\n") > 3


def test_concurrent_raters_lose_and_duplicate_nothing(app_url) -> None:
    url, services, _ = app_url
    before = len(services.store.ratings())

    def rater_session(seed: int) -> list[int]:
        client = _client(url)
        rater, _, slot, _, _ = client.predict(api_name="/start")
        rng = np.random.default_rng(seed)
        slots = []
        for _ in range(6):
            slots.append(slot)
            _, slot, _, _ = client.predict(rater, slot, int(rng.integers(1, 6)), api_name="/rate")
        return slots

    with ThreadPoolExecutor(6) as pool:
        sessions = list(pool.map(rater_session, range(6)))
    ratings = services.store.ratings()[before:]
    assert len(ratings) == 36 == sum(len(s) for s in sessions)
    assert len({(r["rater_id"], r["slot"]) for r in ratings}) == 36
    assert threading.active_count() < 200


def test_brush_strokes_replace_only_the_pixels_they_paint() -> None:
    from hamagan.space.compose import automatic_trimap, editor_value, painted_trimap

    portrait = str(portrait_paths(TEST_PORTRAITS[2])[0])
    automatic = automatic_trimap(portrait).trimap
    assert set(np.unique(automatic).tolist()) == {0.0, 0.5, 1.0}
    value = editor_value(portrait)
    shown = np.asarray(value["background"])
    assert max(shown.shape[:2]) <= 1280 and value["layers"] == []
    np.testing.assert_array_equal(painted_trimap(value, automatic), automatic)  # nothing painted: the automatic one
    # A white stroke (person) over the top-left corner and a black one (background) at the bottom, painted on an
    # editor-sized layer: scaled up to the portrait, merged, the rest untouched.
    layer = np.zeros((*shown.shape[:2], 4), np.uint8)
    layer[:20, :30] = (255, 255, 255, 255)
    layer[-10:, :] = (0, 0, 0, 255)
    edited = painted_trimap({**value, "layers": [layer]}, automatic)
    scale = automatic.shape[0] / shown.shape[0]
    top, bottom = int(20 * scale) - 1, automatic.shape[0] - int(10 * scale) + 1
    assert (edited[:top, :int(30 * scale) - 1] == 1.0).all() and (edited[bottom:] == 0.0).all()
    np.testing.assert_array_equal(edited[top + 2:bottom - 2, int(30 * scale) + 2:],
                                  automatic[top + 2:bottom - 2, int(30 * scale) + 2:])
    with pytest.raises(Exception, match="Start from the automatic trimap"):
        painted_trimap(None, automatic)


def test_compose_needs_only_the_portrait(app_url, tmp_path: Path) -> None:
    from gradio_client import handle_file

    portrait = tmp_path / "p.jpg"
    Image.open(portrait_paths(TEST_PORTRAITS[0])[0]).resize((240, 160)).save(portrait)
    client = _client(app_url[0])
    parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/compose"]["parameters"]
    assert [p["parameter_name"] for p in parameters if not p["parameter_has_default"]] == ["portrait"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in parameters if p["parameter_has_default"]}
    assert defaults["direction"] == "foreground"  # the Space adjusts the portrait unless asked otherwise
    alpha, *_, message = client.predict(handle_file(str(portrait)), "automatic", api_name="/compose")
    assert Image.open(alpha).size == (240, 160) and "composed in" in message


def test_results_of_twenty_raters_keep_their_intervals_inside_the_scale(tmp_path: Path) -> None:
    from hamagan.plots import interval_chart
    from hamagan.space.app import clipped_interval, interval_cells

    # 20 raters, one item each: 17 say 1 and 3 say 3 for the composite, 17 say 5 and 3 say 3 for the real photo
    # (t intervals of +-0.34 that would leave the scale), a spread for ours, and a method with one rater.
    scores = {"composite": [1] * 17 + [3] * 3, "ours": [2, 3, 4] * 6 + [3, 3], "real": [5] * 17 + [3] * 3}
    ratings = [{"rater_id": f"r{rater}", "method": method, "item_id": "i0", "slot": 0, "score": score}
               for method, column in scores.items() for rater, score in enumerate(column)]
    ratings += [{"rater_id": "solo", "method": "one rater", "item_id": "i0", "slot": 0, "score": 5}]
    summary = {r.method: r for r in summarize(ratings)}
    for method in ("composite", "ours", "real"):
        r = summary[method]
        low, high = clipped_interval(r.mos, r.ci95)
        assert 1.0 <= low <= r.mos <= high <= 5.0
        assert interval_cells(r.mos, r.ci95)[1] == f"{low:.2f} - {high:.2f}"
    assert summary["real"].mos + summary["real"].ci95 > 5.0 and summary["composite"].mos - summary["composite"].ci95 < 1
    # The chart: error bars end at the scale's top line (y = 45), nothing drawn between it and the title.
    chart = np.asarray(interval_chart({m: (r.mos, *clipped_interval(r.mos, r.ci95)) for m, r in summary.items()},
                                      "MOS", value_range=(1.0, 5.0)))
    assert (chart[32:44, 40:] == 255).all() and (chart[46:60, 40:] < 100).any()
    assert interval_cells(summary["one rater"].mos, summary["one rater"].ci95) == ("n/a", "n/a (one rater)")


def test_the_port_comes_from_the_flag_then_hamagan_then_gradio(monkeypatch: pytest.MonkeyPatch) -> None:
    from hamagan.space.app import server_address

    for name in ("HAMAGAN_HOST", "HAMAGAN_PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SPACE_ID"):
        monkeypatch.delenv(name, raising=False)
    assert server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7001")
    assert server_address() == ("0.0.0.0", 7001)
    monkeypatch.setenv("HAMAGAN_PORT", "7002")
    assert server_address() == ("0.0.0.0", 7002)
    assert server_address("127.0.0.1", 7003) == ("127.0.0.1", 7003)
