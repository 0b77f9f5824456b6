"""Fault flags and rep counts measured on data no threshold was chosen on (not a test).

    python bench/eval_faults.py synthetic --workdir DIR
        renders and ingests each synthetic test gym (splits.TEST_SEEDS) once under DIR,
        then scores its reps against the renderer's truth: per fault counts, precision
        and recall, clean reps flagged, exact rep counts.
    python bench/eval_faults.py real --workdir DIR [--footage ../shared/footage]
        ingests the labelled dev clips (evaluation/real_labels.csv) once under DIR, then
        scores them leave-one-source-out: per source, clean reps flagged and faulty clips
        found; a fault whose threshold was read from that source is marked "training".

``--reanalyse`` recomputes the reps from the stored frames with the current analytics
code (no pose re-run); ``--tuning-seed N`` scores a tuning gym instead (a training score).
The protocol and the figures: docs/validation.md.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from hingeflow import schemas
from hingeflow.evaluation import scoring, splits
from hingeflow.warehouse import Warehouse

UPLOAD = "labelled_2026-11-16"


def run_flow(inbox: Path, warehouse: Path) -> None:
    """One `hingeflow run` in a child process (its own Prefect ephemeral API)."""
    subprocess.run([sys.executable, "-m", "hingeflow.cli", "run", "--inbox", str(inbox),
                    "--warehouse", str(warehouse)], check=True)


def ensure_gym(workdir: Path, seed: int) -> Path:
    """The gym of `seed` under `workdir` (footage/ with truth/, warehouse/), made on first use."""
    from hingeflow.synth.gym import make_gym

    root = workdir / f"gym_{seed}"
    if not (root / "warehouse" / "reps").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        make_gym(root / "footage", seed=seed, **splits.TEST_GYM)
        run_flow(root / "footage" / "inbox", root / "warehouse")
    return root


def ensure_real(workdir: Path, footage: Path, labels: list[splits.Label]) -> Path:
    """A warehouse of the labelled dev clips (one athlete per source, load 0), made on first use."""
    root = workdir / "real_labelled"
    if not (root / "warehouse" / "reps").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        upload = root / "inbox" / UPLOAD
        upload.mkdir(parents=True)
        with (upload / "manifest.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["video", "athlete_id", "recorded_on", "exercise", "load_kg", "set_index", "camera_view"])
            for i, x in enumerate(labels, start=1):
                (upload / x.file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(footage / x.file, upload / x.file)
                w.writerow([x.file, "src-" + x.source.split("/")[0][:24], "2026-11-16", x.exercise, 0, i, x.view])
        run_flow(root / "inbox", root / "warehouse")
    return root


def pipeline_reps(warehouse: Path, reanalyse: bool) -> pl.DataFrame:
    """The warehouse's reps with `video` ("<upload>/<path>") and `file` (the path in the upload)."""
    wh = Warehouse(warehouse)
    videos = wh.read(schemas.VIDEOS)
    if reanalyse:
        from hingeflow.analytics.stage import analyse

        reps = analyse(wh.read(schemas.FRAMES), videos, pl.DataFrame())
    else:
        reps = wh.read(schemas.REPS)
    names = videos.select("video_id", pl.col("video").alias("file"),
                          (pl.col("upload") + "/" + pl.col("video")).alias("video"))
    return reps.join(names, on="video_id")


def synthetic(workdir: Path, seeds: list[int], reanalyse: bool) -> None:
    matched, counts, exercises = [], [], []
    for seed in seeds:
        root = ensure_gym(workdir, seed)
        found = pipeline_reps(root / "warehouse", reanalyse)
        truth = pl.read_parquet(root / "footage" / "truth" / "reps.parquet")
        tag = (pl.lit(f"{seed}:") + pl.col("video")).alias("video")  # gyms of different seeds share video names
        matched.append(scoring.match(truth, found).with_columns(tag))
        exercises.append(truth.select(tag, "exercise").unique())
        n_t = truth.group_by("video").len("n_true")
        n_f = found.group_by("video").len("n_found")
        counts.append(n_t.join(n_f, on="video", how="left").fill_null(0))
    m, c = pl.concat(matched), pl.concat(counts)
    exact = int((c["n_true"] == c["n_found"]).sum())
    print(f"seeds {seeds}: {m['matched'].sum()} reps matched; exact rep count on {scoring.rate(exact, c.height)} clips")
    k, n = scoring.clean_reps_flagged(m)
    print(f"clean reps with any fault: {scoring.rate(k, n)} (side view); per exercise:")
    for (exercise,), g in m.join(pl.concat(exercises), on="video").group_by("exercise", maintain_order=True):
        print(f"  {exercise:18s} {scoring.rate(*scoring.clean_reps_flagged(g))}")
    print(f"{'fault':22s} {'true':>5s} {'flagged':>8s} {'hit':>5s}  {'precision':>15s} {'recall':>15s}  "
          f"true but not assessable / borderline (not scored)")
    for r in scoring.fault_counts(m).iter_rows(named=True):
        print(f"{r['fault']:22s} {r['n_true']:5d} {r['n_flagged']:8d} {r['n_hit']:5d}  "
              f"{scoring.rate(r['n_hit'], r['n_flagged']):>15s} {scoring.rate(r['n_hit'], r['n_true']):>15s}  "
              f"{r['n_true_not_assessable']} / {r['n_borderline']}")


def real(workdir: Path, footage: Path, reanalyse: bool) -> None:
    labels = splits.real_labels()
    root = ensure_real(workdir, footage, labels)
    reps = pipeline_reps(root / "warehouse", reanalyse)
    clips = scoring.real_clip_scores(reps, labels)
    with pl.Config(tbl_rows=100, fmt_str_lengths=44, tbl_width_chars=200):
        print(clips.select("file", "view", "label", "n_reps", "n_any_fault", "n_labelled_fault"))
    summary = scoring.source_summary(clips)
    print("leave-one-source-out (each source scored with no threshold read from it, except where marked):")
    for r in summary.iter_rows(named=True):
        tuned = sorted(f for f, s in splits.TUNED_ON.items() if r["source"] in s)
        note = f"  [training for {', '.join(tuned)}]" if tuned else ""
        print(f"  {r['source']:46s} clean reps flagged {scoring.rate(r['clean_reps_flagged'], r['clean_reps']):>12s}"
              f"  named fault on most reps {scoring.rate(r['named_found'], r['named_clips']):>10s}"
              f"  faulty clips with a fault on most reps {scoring.rate(r['faulty_found'], r['faulty_clips']):>10s}{note}")
    by_view = (clips.filter(pl.col("label") == splits.CLEAN).group_by("exercise", "view")
               .agg(pl.col("n_any_fault").sum(), pl.col("n_reps").sum()).sort("exercise", "view"))
    print("clean reps with any fault, per exercise and view:")
    for r in by_view.iter_rows(named=True):
        print(f"  {r['exercise']:18s} {r['view']:9s} {scoring.rate(r['n_any_fault'], r['n_reps'])}")
    flagged = reps.join(scoring.label_frame(labels).select("file", "label"), on="file").filter(
        (pl.col("label") == splits.CLEAN) & (pl.col("faults").list.len() > 0))
    for r in flagged.iter_rows(named=True):
        ev = [e for e in r["fault_evidence"] if e["verdict"] == "fault"]
        print(f"  clean rep flagged: {r['file']} rep {r['rep_index']}: "
              + "; ".join(f"{e['fault']} {e['metric']} {e['value']:.2f} vs {e['threshold']:.2f} "
                          f"(noise {e['noise']:.2f}, margin {e['margin']:.1f})" for e in ev))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("split", choices=["synthetic", "real"])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--footage", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "footage")
    ap.add_argument("--reanalyse", action="store_true")
    ap.add_argument("--tuning-seed", type=int, action="append", help="score a tuning gym instead (training score)")
    a = ap.parse_args()
    if a.split == "synthetic":
        seeds = [splits.tuning_seed(s) for s in a.tuning_seed] if a.tuning_seed else list(splits.TEST_SEEDS)
        synthetic(a.workdir, seeds, a.reanalyse)
    else:
        real(a.workdir, a.footage, a.reanalyse)


if __name__ == "__main__":
    main()
