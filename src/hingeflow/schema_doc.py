"""The analysts' schema document (`data_contracts/SCHEMA.md`), rendered from the contracts (pure)."""

from __future__ import annotations

from hingeflow import schemas
from hingeflow.expectations import checks_for


def _rule(c: schemas.Column) -> str:
    parts = []
    if c.min_value is not None or c.max_value is not None:
        lo = "" if c.min_value is None else f"{c.min_value:g} {'<' if c.strict_min else '<='} "
        hi = "" if c.max_value is None else f" <= {c.max_value:g}"
        parts.append(f"{lo}value{hi}")
    if c.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
    if c.allowed_from is not None:
        parts.append(f"one of the configured {c.allowed_from}")
    if c.pattern is not None:
        parts.append(f"matches `{c.pattern}`")
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(t: schemas.Table) -> str:
    lines = [f"## `{t.name}`", "", t.doc, "",
             f"- key: {', '.join(f'`{k}`' for k in t.key)} (unique)",
             f"- files: `{t.name}/" + (f"{t.partition_by}=<value>/" if t.partition_by else "") + "part-<run_id>.parquet`"
             + (" (a snapshot: the newest run's file holds the whole table)" if t.snapshot else "")]
    lines += [f"- every `{r.column}` is a `{r.table}.{r.target}`" for r in t.references]
    lines += [f"- `{i.column}` strictly increases with `{i.order_by}` within each {', '.join(i.within)}"
              for i in t.increasing]
    lines += [f"- `{a}` >= `{b}` on every row" for a, b in t.ordered_pairs]
    lines += ["", "| column | type | null | unit | rule | meaning |", "|---|---|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {_cell(c.unit)} | {_cell(_rule(c))} | "
              f"{_cell(c.doc)} |" for c in t.columns]
    return "\n".join(lines) + "\n"


def render() -> str:
    """SCHEMA.md: every warehouse table's columns, types, units, keys and rules."""
    suites = ", ".join(f"`{n}` ({len(checks_for(schemas.TABLES[n]))} checks)" for n in schemas.VALIDATED)
    head = [
        "# Warehouse tables: the contract",
        "",
        "Generated from `src/hingeflow/schemas.py` by `hingeflow contracts`; do not edit by hand.",
        "The same declarations are checked on every run by the Great Expectations suites in",
        f"`data_contracts/gx/` ({suites}).",
        "Rows that break a rule are kept out of the table and land in `quarantined_rows`; every",
        "check's outcome lands in `quality`. Types are Arrow types; `null` says whether the",
        "column may be null (rules apply to the values that are set).",
        "",
        "",
    ]
    return "\n".join(head) + "\n".join(render_table(t) for t in schemas.TABLES.values())
