"""Expectations derived from the table contracts, and what to do with rows that fail them (pure).

Every rule declared in `hingeflow.schemas` becomes one `Check`, a Great
Expectations 1.x expectation (type + kwargs) with a name unique in its table's
suite, e.g. ``"reps.knee_flexion_bottom_deg: between"``. The suites in
`data_contracts/gx` are written from these checks (`hingeflow.gx_suites`), so
the contract stays in one place.

Scopes: a failing ``table`` check (the columns differ from the contract) makes
the whole table unusable; a failing ``rows`` check names the offending rows by
their key, and those rows are quarantined while the others are kept.

GX has no polars engine, so the validated frame is a *view* of the table
(`validation_view`): list columns become comma-joined strings (so fault names
can be checked with one regex), and each `Increasing` rule adds a derived column
``<column>_step`` = the value minus the previous row's of the same group (null
on a group's first row), which must be > 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from hingeflow.schemas import Column, Table

MAX_KEYS = 20  # offending keys reported per check


@dataclass(frozen=True)
class Check:
    """One expectation of a table's suite."""

    name: str  # "<table>.<column>: <rule>" or "<table>: <rule>"
    type: str  # GX expectation type, e.g. "expect_column_values_to_be_between"
    kwargs: dict[str, Any]
    scope: str  # "rows" | "table"
    column: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one table."""

    check: Check
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    offending: list[dict[str, Any]] = field(default_factory=list)  # key values of the failing rows
    error: str | None = None  # why the check could not be evaluated


def reference_param(table: str, column: str) -> str:
    """Name of the run-time value set holding the keys of `table`.`column`."""
    return f"known_{table}_{column}"


def step_column(column: str) -> str:
    return f"{column}_step"


def _list_regex(values: tuple[str, ...]) -> str:
    """Regex for a comma-joined list whose elements are all in `values` (the empty list included)."""
    alt = "|".join(re.escape(v) for v in values)
    return rf"^(?:(?:{alt})(?:,(?:{alt}))*)?$"


def _column_checks(t: str, c: Column) -> list[Check]:
    checks = []
    is_list = str(c.type).startswith("list")
    if not c.nullable:
        checks.append(Check(f"{t}.{c.name}: not null", "expect_column_values_to_not_be_null",
                            {"column": c.name}, "rows", c.name))
    if (c.min_value is not None or c.max_value is not None) and not is_list:
        kw: dict[str, Any] = {"column": c.name, "min_value": c.min_value, "max_value": c.max_value}
        if c.strict_min:
            kw["strict_min"] = True
        checks.append(Check(f"{t}.{c.name}: between", "expect_column_values_to_be_between", kw, "rows", c.name))
    if c.allowed is not None and is_list:
        checks.append(Check(f"{t}.{c.name}: elements in vocabulary", "expect_column_values_to_match_regex",
                            {"column": c.name, "regex": _list_regex(c.allowed)}, "rows", c.name))
    elif c.allowed is not None or c.allowed_from is not None:
        values: Any = list(c.allowed) if c.allowed is not None else {"$PARAMETER": c.allowed_from}
        checks.append(Check(f"{t}.{c.name}: in set", "expect_column_values_to_be_in_set",
                            {"column": c.name, "value_set": values}, "rows", c.name))
    if c.pattern is not None:
        checks.append(Check(f"{t}.{c.name}: matches pattern", "expect_column_values_to_match_regex",
                            {"column": c.name, "regex": c.pattern}, "rows", c.name))
    return checks


def view_columns(table: Table) -> list[str]:
    """Columns of the validated view: the contract's, then the derived step columns."""
    return table.names + [step_column(i.column) for i in table.increasing]


def checks_for(table: Table) -> list[Check]:
    """The suite of `table`: column set, key, per-column rules, references, order rules."""
    t = table.name
    checks = [Check(f"{t}: columns match the contract", "expect_table_columns_to_match_set",
                    {"column_set": view_columns(table), "exact_match": True}, "table")]
    if len(table.key) == 1:
        checks.append(Check(f"{t}.{table.key[0]}: unique key", "expect_column_values_to_be_unique",
                            {"column": table.key[0]}, "rows", table.key[0]))
    else:
        checks.append(Check(f"{t}: unique key ({', '.join(table.key)})", "expect_compound_columns_to_be_unique",
                            {"column_list": list(table.key)}, "rows"))
    for c in table.columns:
        checks += _column_checks(t, c)
    for r in table.references:
        checks.append(Check(f"{t}.{r.column}: references {r.table}.{r.target}", "expect_column_values_to_be_in_set",
                            {"column": r.column, "value_set": {"$PARAMETER": reference_param(r.table, r.target)}},
                            "rows", r.column))
    for i in table.increasing:
        name = step_column(i.column)
        checks.append(Check(f"{t}.{i.column}: increases with {i.order_by} within {', '.join(i.within)}",
                            "expect_column_values_to_be_between",
                            {"column": name, "min_value": 0, "strict_min": True}, "rows", name))
    for a, b in table.ordered_pairs:
        checks.append(Check(f"{t}: {a} >= {b}", "expect_column_pair_values_a_to_be_greater_than_b",
                            {"column_A": a, "column_B": b, "or_equal": True,
                             "ignore_row_if": "either_value_is_missing"}, "rows"))
    return checks


def validation_view(table: Table, df: pl.DataFrame) -> pl.DataFrame:
    """The frame GX validates: list columns joined with ",", derived step columns added.

    A list of structs is viewed through its column's `view_fields`: each element becomes
    those fields joined with ":" (e.g. "rounded_back:fault").

    Columns the frame lacks stay absent (the column-set check reports them); a
    step column whose inputs are missing is all null.
    """
    fields = {c.name: c.view_fields for c in table.columns if c.view_fields}
    lists = [n for n, dtype in df.schema.items() if isinstance(dtype, pl.List)]
    view = df.with_columns(
        (pl.col(n).list.eval(pl.concat_str([pl.element().struct.field(f) for f in fields[n]], separator=":"))
         if n in fields else pl.col(n).cast(pl.List(pl.String))).list.join(",")
        for n in lists)
    for inc in table.increasing:
        needed = [inc.column, inc.order_by, *inc.within]
        if all(c in df.columns for c in needed):
            idx = pl.int_range(pl.len()).alias("_row")
            steps = (view.select(*needed).with_columns(idx).sort([*inc.within, inc.order_by])
                     .with_columns((pl.col(inc.column) - pl.col(inc.column).shift(1).over(inc.within))
                                   .alias(step_column(inc.column)))
                     .sort("_row")[step_column(inc.column)])
            view = view.with_columns(steps)
        else:
            view = view.with_columns(pl.lit(None, dtype=pl.Float64).alias(step_column(inc.column)))
    return view


def key_text(key: dict[str, Any]) -> str:
    """A row key as analysts read it: 'video_id=ab12..., rep_index=3'."""
    return ", ".join(f"{k}={v}" for k, v in key.items())


def no_rejected_rows() -> pl.DataFrame:
    """An empty frame of quarantined rows, as `split_rows` returns them."""
    return pl.DataFrame(schema={"row_key": pl.String, "checks": pl.List(pl.String), "row_json": pl.String})


def split_rows(table: Table, df: pl.DataFrame, results: list[CheckResult]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows kept, rows quarantined with the checks they failed: columns row_key, checks, row_json).

    Rows are matched by key; every row sharing a failing key is quarantined
    (both rows of a duplicate key). Table-scope failures are not handled here.
    """
    failed = [(r.check.name, o) for r in results if not r.success and r.check.scope == "rows" for o in r.offending]
    key = list(table.key)
    empty = no_rejected_rows()
    if not failed or not all(k in df.columns for k in key):
        return df, empty
    bad = (pl.DataFrame([{**{k: o.get(k) for k in key}, "_check": name} for name, o in failed],
                        schema={**{k: df.schema[k] for k in key}, "_check": pl.String})
           .group_by(key).agg(pl.col("_check").unique().sort().alias("checks")))
    kept = df.join(bad.select(key), on=key, how="anti", nulls_equal=True)
    out = df.join(bad, on=key, how="inner", nulls_equal=True)
    rows = out.drop("checks").to_dicts()
    return kept, pl.DataFrame({
        "row_key": [key_text({k: r[k] for k in key}) for r in rows],
        "checks": out["checks"],
        "row_json": [json.dumps(r, default=str) for r in rows],
    }, schema=empty.schema)


def offending_keys(result: CheckResult) -> list[str]:
    return [key_text(o) for o in result.offending[:MAX_KEYS]]
