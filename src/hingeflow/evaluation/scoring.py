"""Scoring of the pipeline's reps against truth (synthetic) or clip labels (real). Pure polars.

Every rate comes with its counts: the tables hold numerators and denominators, and
``rate`` prints them as "5/7".
"""

from __future__ import annotations

import polars as pl

from hingeflow.analytics.faults import FAULTS

from .splits import CLEAN, FAULTY, Label

MATCH_S = 0.5  # a found rep matches the truth rep of the same clip whose bottom is nearest, within this


def not_assessable(reps: pl.DataFrame) -> pl.Expr:
    """Per rep, the faults whose evidence fell inside the noise (list of names)."""
    return (pl.col("fault_evidence").list.eval(
        pl.element().filter(pl.element().struct.field("verdict") == "not_assessable").struct.field("fault"))
        .alias("not_assessable"))


def match(truth: pl.DataFrame, found: pl.DataFrame, tolerance: float = MATCH_S) -> pl.DataFrame:
    """One row per truth rep and per unmatched found rep: video, true_faults, borderline, faults,
    not_assessable, matched.

    `truth`: video, t_bottom_s, faults and optionally borderline (true faults within the noise
    band, not scored); `found`: video, t_bottom_s, faults, fault_evidence.
    Greedy in truth order: each truth rep takes the nearest unused found rep within `tolerance`.
    An unmatched truth rep shows no fault; an unmatched found rep has no true fault.
    """
    found = found.with_columns(not_assessable(found))
    if "borderline" not in truth.columns:
        truth = truth.with_columns(pl.lit([], pl.List(pl.String)).alias("borderline"))
    rows = []
    for (video,), t in truth.group_by("video", maintain_order=True):
        f = found.filter(pl.col("video") == video).to_dicts()
        used: set[int] = set()
        for tr in t.sort("t_bottom_s").iter_rows(named=True):
            near = [(abs(fr["t_bottom_s"] - tr["t_bottom_s"]), i) for i, fr in enumerate(f) if i not in used]
            near = [x for x in near if x[0] <= tolerance]
            if near:
                i = min(near)[1]
                used.add(i)
                rows.append({"video": video, "true_faults": tr["faults"], "borderline": tr["borderline"],
                             "faults": f[i]["faults"],
                             "not_assessable": f[i]["not_assessable"], "matched": True})
            else:
                rows.append({"video": video, "true_faults": tr["faults"], "borderline": tr["borderline"],
                             "faults": [], "not_assessable": [], "matched": False})
        rows += [{"video": video, "true_faults": [], "borderline": [], "faults": fr["faults"],
                  "not_assessable": fr["not_assessable"], "matched": False} for i, fr in enumerate(f) if i not in used]
    lists = pl.List(pl.String)
    return pl.DataFrame(rows, schema={"video": pl.String, "true_faults": lists, "borderline": lists, "faults": lists,
                                      "not_assessable": lists, "matched": pl.Boolean})


def fault_counts(m: pl.DataFrame) -> pl.DataFrame:
    """Per fault with any truth or flag: n_true, n_flagged, n_hit (both), n_true_not_assessable (true but
    held back), n_borderline (reps where the fault is borderline: left out of every other count)."""
    rows = []
    for f in FAULTS:
        scored = m.filter(~pl.col("borderline").list.contains(f))
        t, p = scored["true_faults"].list.contains(f), scored["faults"].list.contains(f)
        na = scored["not_assessable"].list.contains(f)
        if int(t.sum()) or int(p.sum()):
            rows.append({"fault": f, "n_true": int(t.sum()), "n_flagged": int(p.sum()), "n_hit": int((t & p).sum()),
                         "n_true_not_assessable": int((t & na).sum()), "n_borderline": m.height - scored.height})
    return pl.DataFrame(rows, schema={"fault": pl.String, "n_true": pl.Int64, "n_flagged": pl.Int64, "n_hit": pl.Int64,
                                      "n_true_not_assessable": pl.Int64, "n_borderline": pl.Int64})


def clean_reps_flagged(m: pl.DataFrame) -> tuple[int, int]:
    """(clean reps with any fault flag, clean reps): reps with no true fault (a borderline fault is true)."""
    clean = m.filter(pl.col("true_faults").list.len() == 0)
    return int((clean["faults"].list.len() > 0).sum()), clean.height


def rate(k: int, n: int) -> str:
    """"k/n (p%)", or "-" without a denominator."""
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"


def label_frame(labels: list[Label]) -> pl.DataFrame:
    return pl.DataFrame([vars(x) for x in labels], schema={k: pl.String for k in
                                                           ("file", "source", "exercise", "view", "label", "judged_by")})


def real_clip_scores(reps: pl.DataFrame, labels: list[Label]) -> pl.DataFrame:
    """Per labelled clip: n_reps, reps with any fault, reps with the labelled fault (null unless named).

    `reps`: the pipeline's reps with a `file` column (the clip's path in the footage
    folder, e.g. "clips/yfgd_good_01.mp4"). A labelled clip with no reps keeps n_reps 0.
    """
    lab = label_frame(labels)
    per = (reps.join(lab.select("file", "label"), on="file")
           .group_by("file").agg(pl.len().alias("n_reps"),
                                 (pl.col("faults").list.len() > 0).sum().alias("n_any_fault"),
                                 pl.col("faults").list.contains(pl.col("label")).sum().alias("n_labelled_fault")))
    out = lab.join(per, on="file", how="left").with_columns(pl.col("n_reps", "n_any_fault").fill_null(0))
    named = ~pl.col("label").is_in([CLEAN, FAULTY])
    return out.with_columns(pl.when(named).then(pl.col("n_labelled_fault").fill_null(0)).alias("n_labelled_fault"))


def source_summary(clips: pl.DataFrame) -> pl.DataFrame:
    """Per source (one leave-one-source-out fold): clean reps flagged, and faulty clips found.

    `found_named`: positive clips whose labelled fault is on most (> half) of their reps;
    `found_any`: "faulty" clips (fault not named) with some fault on most reps.
    """
    most = lambda k: pl.col(k) * 2 > pl.col("n_reps")  # noqa: E731
    return clips.group_by("source").agg(
        pl.col("n_any_fault").filter(pl.col("label") == CLEAN).sum().alias("clean_reps_flagged"),
        pl.col("n_reps").filter(pl.col("label") == CLEAN).sum().alias("clean_reps"),
        most("n_labelled_fault").filter(~pl.col("label").is_in([CLEAN, FAULTY])).sum().alias("named_found"),
        (~pl.col("label").is_in([CLEAN, FAULTY])).sum().alias("named_clips"),
        most("n_any_fault").filter(pl.col("label") == FAULTY).sum().alias("faulty_found"),
        (pl.col("label") == FAULTY).sum().alias("faulty_clips"),
    ).sort("source")
