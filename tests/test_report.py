"""Coach reports: the sentences from constructed tables, and the demo gym's pages in headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from hingeflow import schemas
from hingeflow.analytics.breakdown import breakdown, sets_table, week_over_week
from hingeflow.analytics.evidence import EVIDENCE
from hingeflow.analytics.faults import FAULTS
from hingeflow.report.content import athlete_report, load_cues
from hingeflow.warehouse import Warehouse
from servers import read_artifacts

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))


def test_every_fault_has_a_label_cue_and_drill():
    cues = load_cues()
    assert set(cues) == set(FAULTS)
    for name, c in cues.items():
        assert all(len(text) > 10 for text in (c.looks, c.cue, c.drill)), name


def _reps(chord_by_load: dict[float, list[float]], faults_at: dict[float, int] | None = None,
          week: str = "2026-W46") -> pl.DataFrame:
    """Deadlift reps of athlete a1: chord shortening per rep; `faults_at`: load -> reps flagged rounded_back."""
    rows = []
    for load, chords in chord_by_load.items():
        for i, c in enumerate(chords):
            flagged = i < (faults_at or {}).get(load, 0)
            rows.append(dict(athlete_id="a1", recorded_on="2026-11-09", week=week, exercise="deadlift",
                             load_kg=load, set_index=1, rep_index=i + 1, chord_shortening_pct=float(c),
                             knee_flexion_bottom_deg=72.0 + i % 2, trunk_angle_bottom_deg=58.0,
                             eccentric_s=1.2, concentric_s=0.9, form_score=60.0 if flagged else 100.0,
                             confidence=0.9, faults=["rounded_back"] if flagged else [], gate_reasons=[]))
    return pl.DataFrame(rows)


def _tables(reps: pl.DataFrame) -> dict[str, pl.DataFrame]:
    sets = sets_table(reps)
    videos = pl.DataFrame({"athlete_id": ["a1"], "exercise": ["deadlift"], "recorded_on": ["2026-11-09"],
                           "load_kg": [140.0], "set_index": [1], "gate": ["flagged"],
                           "gate_reasons": [["person small in frame: 12% of image height"]]})
    return {"sets": sets, "reps": reps, "breakdown": breakdown(sets), "week_over_week": week_over_week(sets),
            "videos": videos}


def test_the_headline_names_the_breakdown_load_what_changed_and_how_many_reps():
    reps = _reps({60: [2, 2, 2, 2, 2], 80: [2, 3, 2, 2, 3], 100: [3, 2, 3, 3, 2], 120: [11, 12, 10, 9, 11],
                  140: [12, 13, 12, 12, 13]}, faults_at={120: 4, 140: 5})
    section = athlete_report("a1", _tables(reps), load_cues()).sections[0]
    assert section.breakdown_load_kg == 120
    assert section.headline.startswith("Form held through 100 kg. At 120 kg the back rounded (chord shortening 11%")
    assert "baseline 2%" in section.headline and "on 4 of 5 reps" in section.headline
    assert [f.fault for f in section.faults] == ["rounded_back"] and section.faults[0].reps == 9
    assert "Keep the working sets at 100 kg" in section.next_step and load_cues()["rounded_back"].drill in section.next_step
    assert section.flagged[0].reasons == ["person small in frame: 12% of image height"]


def test_each_fault_shows_its_clearest_evidence_in_words():
    reps = _reps({60: [2, 2, 2], 120: [11, 12, 10]}, faults_at={120: 2})
    ev = lambda value, verdict: [{"fault": "rounded_back", "metric": "chord_shortening_pct change", "value": value,  # noqa: E731
                                  "threshold": 4.0, "baseline": 2.0, "noise": 3.66, "margin": (value - 4.0) / 3.66,
                                  "verdict": verdict}]
    evidence = [[] for _ in range(3)] + [ev(9.0, "fault"), ev(10.0, "fault"), ev(6.0, "not_assessable")]
    reps = reps.with_columns(pl.Series("fault_evidence", evidence, dtype=pl.List(EVIDENCE)))
    (seen,) = athlete_report("a1", _tables(reps), load_cues()).sections[0].faults
    assert seen.evidence == ("at 120 kg: chord shortening changed by 10% from your light-load 2% "
                             "(limit 4%, noise ±4%)")
    assert seen.not_assessable == 1


def test_a_change_within_noise_is_said_to_be_within_noise():
    reps = _reps({60: [2] * 5, 80: [2] * 5, 100: [3] * 5, 120: [4.5] * 5})  # +2.5% vs noise 3%
    section = athlete_report("a1", _tables(reps), load_cues()).sections[0]
    assert section.breakdown_load_kg is None
    assert section.headline.startswith("Form held through 120 kg")
    assert any("within the measurement noise" in n and "Chord shortening" in n for n in section.noise_notes)


def test_week_over_week_lines_say_which_load_got_worse():
    w1 = _reps({60: [2] * 3, 100: [3] * 3}, week="2026-W46")
    w2 = _reps({60: [2] * 3, 100: [12] * 3}, week="2026-W47").with_columns(pl.lit("2026-11-16").alias("recorded_on"))
    section = athlete_report("a1", _tables(pl.concat([w1, w2])), load_cues()).sections[0]
    assert any(line.startswith("At 100 kg, chord shortening worse than 2026-W46: 3% → 12%")
               for line in section.week_over_week), section.week_over_week


# --- the demo gym, rendered by the real flow and opened in Debian's Chromium ------------------


@pytest.fixture(scope="module")
def demo(demo_run):
    """(warehouse, truth athletes, root) of the session's `hingeflow demo` run."""
    return Warehouse(demo_run.warehouse), demo_run.truth, demo_run.root


def test_a_rep_without_a_keyframe_shows_why_instead_of_a_picture():
    from hingeflow.report.render import thumbs

    kf = pl.DataFrame({"video_id": ["a", "a"], "rep_index": [1, 2], "image_webp": [b"RIFF", None],
                       "reason": [None, "no frame within 0.3 s of the bottom has a believable pose"]},
                      schema_overrides={"image_webp": pl.Binary})
    reps = pl.DataFrame({"video_id": ["a", "a"], "rep_index": [1, 2], "load_kg": [60.0, 60.0],
                         "form_score": [90.0, 40.0]})
    best, worst = thumbs(kf, reps)
    assert best.src.startswith("data:image/webp;base64,") and best.reason is None
    assert worst.src is None and "believable pose" in worst.reason
    assert "No picture: {{ k.reason }}" in (Path(__file__).parents[1] / "reports" / "athlete.html.j2").read_text()


def test_the_report_names_the_true_breakdown_load_and_the_injected_fault(demo):
    """Each synthetic athlete with a true breakdown: the page names a load within one load step of it,
    and the label of a fault the truth injected at the loads above it."""
    wh, truth, root = demo
    true_reps = pl.read_parquet(root / "footage" / "truth" / "reps.parquet")
    cues = load_cues()
    checked = 0
    for athlete in truth:
        page = (wh.root / "reports" / f"{athlete['athlete_id']}.html").read_text()
        for exercise, true_kg in athlete["breakdown_kg"].items():
            loads = sorted(set(true_reps.filter((pl.col("athlete_id") == athlete["athlete_id"])
                                                & (pl.col("exercise") == exercise))["load_kg"]))
            heavier = [x for x in loads if x > true_kg]
            if len(loads) < 3 or not heavier:
                continue
            section = page[page.index(f'id="{exercise}"'):]
            section = section[:section.find("</section>")]
            said = float(section.split('data-breakdown-kg="')[1].split('"')[0] or "nan")
            step = loads.index(heavier[0])
            assert said in loads and abs(loads.index(said) - step) <= 1, (athlete["athlete_id"], exercise, said)
            assert f"At {said:g} kg" in section
            injected = {f for fs in true_reps.filter((pl.col("athlete_id") == athlete["athlete_id"])
                                                     & (pl.col("exercise") == exercise)
                                                     & (pl.col("load_kg") > true_kg))["faults"] for f in fs}
            assert any(cues[f].label in section for f in injected), (exercise, injected)
            checked += 1
    assert checked >= 2


def test_reports_open_offline_at_desktop_and_phone_width(demo, tmp_path):
    from playwright.sync_api import sync_playwright

    wh, truth, _ = demo
    pages = sorted((wh.root / "reports").glob("*.html"))
    athletes = {a["athlete_id"] for a in truth}
    assert {p.stem for p in pages} == athletes | {"index"}
    requests, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for width, height in ((1280, 900), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("http*://**", lambda route: (requests.append(route.request.url), route.abort()))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            for path in pages:
                page.goto(path.as_uri())
                shot = tmp_path / f"{path.stem}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                if path.stem == "index":
                    assert page.locator("ul.athletes > li").count() == len(athletes)
                    continue
                assert page.locator("section.exercise").count() >= 1
                thumbs = page.locator(".keyframes img")  # best and worst rep per load, embedded
                assert thumbs.count() >= 2 and all(
                    src.startswith("data:image/webp;base64,") for src in thumbs.evaluate_all("els => els.map(e => e.src)"))
                assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
                assert page.locator("p.headline").first.inner_text().startswith(("Form held", "Only"))
                for section in page.locator("section.exercise").all():  # tempo + faults, metrics when loads vary
                    loads = section.locator("h2 small").inner_text().count("kg")
                    assert section.locator("figure.chart svg").count() >= (2 if loads < 2 else 5)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{path.name} scrolls sideways at {width}px"
            page.close()
        browser.close()
    assert requests == [] and errors == []
    assert sum(p.read_text().count('class="headline broke"') for p in pages) >= 2  # demo athletes break down


def test_report_command_rerenders_one_athlete_without_the_footage(demo, tmp_path):
    wh, truth, root = demo
    athlete = truth[0]["athlete_id"]
    page = wh.root / "reports" / f"{athlete}.html"
    page.unlink()
    moved = tmp_path / "footage-gone"
    (root / "footage").rename(moved)
    try:
        out = subprocess.run([HINGEFLOW, "report", "--warehouse", str(wh.root), "--athlete", athlete],
                             check=True, capture_output=True, text=True).stdout
    finally:
        moved.rename(root / "footage")
    assert page.is_file() and athlete in out
    bad = subprocess.run([HINGEFLOW, "report", "--warehouse", str(wh.root), "--athlete", "nobody"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "nobody" in bad.stdout
    assert wh.read(schemas.REPS).height > 0


def test_reports_print_to_pdf(demo, tmp_path):
    """The print style sheet gives a multi-page PDF with every section (Chromium's own PDF printer)."""
    from playwright.sync_api import sync_playwright

    wh, truth, _ = demo
    path = wh.root / "reports" / f"{truth[0]['athlete_id']}.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(path.as_uri())
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('header.page')).backgroundColor") \
            == "rgba(0, 0, 0, 0)"  # no ink-heavy banner on paper
        pdf = page.pdf(format="A4", print_background=False)
        browser.close()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2


def test_the_run_leaves_a_markdown_summary_and_a_link_per_report(demo):
    """Prefect artifacts of the demo run: one markdown summary naming every athlete's headline,
    one link per report to a file that exists; no file names or footage paths in them."""
    wh, truth, root = demo
    artifacts = read_artifacts({**os.environ, "PREFECT_HOME": str(root / "prefect")})
    by_key = {a["key"]: a for a in artifacts}
    summary = by_key["hingeflow-run"]
    assert summary["type"] == "markdown"
    for athlete in truth:
        link = by_key[f"report-{athlete['athlete_id']}"]["data"]  # Prefect stores a link as "[text](url)"
        url = re.search(r"\((file://[^)]+)\)", link).group(1)
        assert Path(url.removeprefix("file://")).is_file() and url.endswith(f"{athlete['athlete_id']}.html")
        assert f"**{athlete['athlete_id']}**" in summary["data"]
    assert "Form held" in summary["data"] or "At " in summary["data"]
    assert not any(".mp4" in str(a["data"]) or "inbox" in str(a["data"]) for a in artifacts)
