"""The Great Expectations file context: written from the contracts, run against a warehouse (GX I/O).

`data_contracts/gx/` in the repository is a GX 1.x file context holding one
expectation suite, validation definition and checkpoint per validated table,
written by `write_project` from `hingeflow.expectations.checks_for` (run
`hingeflow contracts` after changing `schemas.py`; a test fails while they
differ). A run never writes into the repository: `open_for_warehouse` copies
the context's definitions to `<warehouse>/_gx/`, where GX keeps its validation
results, and builds the data docs into `<warehouse>/data_docs/`.

GX validates pandas frames only: tables cross the boundary once, through Arrow.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.expectations.registry import get_expectation_impl  # noqa: E402

from hingeflow import schemas  # noqa: E402
from hingeflow.expectations import Check, CheckResult, checks_for, validation_view  # noqa: E402

DATASOURCE = "warehouse"
BATCH = "whole_table"
DEFINITIONS = ("great_expectations.yml", "expectations", "validation_definitions", "checkpoints")
DOCS_DIR = "data_docs"  # under the warehouse
_DOCS_SITE = {
    "class_name": "SiteBuilder",
    "show_how_to_buttons": False,
    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": f"../../{DOCS_DIR}/"},
    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
}


def contracts_dir() -> Path:
    """`data_contracts/` of the repository this package runs from."""
    return Path(__file__).resolve().parents[2] / "data_contracts"


def _expectation(check: Check) -> Any:
    cls = get_expectation_impl(check.type)
    return cls(**check.kwargs, meta={"check": check.name, "scope": check.scope})


def _quiet(ctx: Any) -> None:
    ctx.variables.progress_bars = {"globally": False}
    ctx.variables.analytics_enabled = False


def write_project(gx_dir: Path) -> None:
    """(Re)write the file context at `gx_dir`: datasource, and per validated table its suite,
    validation definition and checkpoint (its result format names the table's key)."""
    gx_dir.parent.mkdir(parents=True, exist_ok=True)
    for name in DEFINITIONS[1:]:
        shutil.rmtree(gx_dir / name, ignore_errors=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    _quiet(ctx)
    if "local_site" in ctx.get_site_names():
        ctx.delete_data_docs_site("local_site")
    ctx.add_data_docs_site("local_site", _DOCS_SITE)
    ctx.variables.save()
    if DATASOURCE in ctx.data_sources.all():
        ctx.data_sources.delete(DATASOURCE)
    source = ctx.data_sources.add_pandas(DATASOURCE)
    for name in schemas.VALIDATED:
        table = schemas.TABLES[name]
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(BATCH)
        suite = gx.ExpectationSuite(name=name, meta={"doc": table.doc})
        for check in checks_for(table):
            suite.add_expectation(_expectation(check))
        suite = ctx.suites.add(suite)
        definition = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        ctx.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition], actions=[],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(table.key)}))
    _stable_ids(gx_dir)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable_ids(gx_dir: Path) -> None:
    """Replace GX's random ids with ones derived from where they first appear (file, order), so
    re-rendering unchanged contracts rewrites identical files and a diff shows only real changes."""
    files = sorted(p for name in DEFINITIONS for p in ([gx_dir / name] if name.endswith(".yml")
                                                         else sorted((gx_dir / name).glob("*.json"))))
    texts = {p: p.read_text() for p in files}
    stable: dict[str, str] = {}
    for p in files:
        rel = p.relative_to(gx_dir).as_posix()
        for n, found in enumerate(dict.fromkeys(_UUID.findall(texts[p]))):
            stable.setdefault(found, str(uuid.uuid5(uuid.NAMESPACE_URL, f"hingeflow:{rel}#{n}")))
    for p, text in texts.items():
        p.write_text(_UUID.sub(lambda m: stable[m.group(0)], text))


@dataclass
class WarehouseContext:
    """A GX file context living in a warehouse (`<warehouse>/_gx/gx`)."""

    ctx: Any
    docs: Path  # data docs site folder

    def validate(self, table: schemas.Table, df: pl.DataFrame, parameters: dict[str, list],
                 run_name: str | None = None) -> list[CheckResult]:
        """Run `table`'s checkpoint on `df`; `parameters`: run-time value sets (known ids, exercises);
        `run_name`: the hingeflow run, as the data docs name it."""
        view = validation_view(table, df).to_pandas(use_pyarrow_extension_array=False)
        run = self.ctx.checkpoints.get(table.name).run(
            batch_parameters={"dataframe": view}, expectation_parameters=parameters,
            run_id=RunIdentifier(run_name=run_name) if run_name else None)
        by_name = {c.name: c for c in checks_for(table)}
        out = []
        for validation in run.run_results.values():
            for r in validation.results:
                check = by_name[r.expectation_config.meta["check"]]
                info = r.exception_info or {}
                error = info.get("exception_message") if info.get("raised_exception") else None
                mismatch = ((r.result or {}).get("details") or {}).get("mismatched")
                if mismatch and not r.success:  # the column-set check: say which columns
                    error = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in mismatch.items() if v)
                offending = [{k: _python(v, df.schema.get(k)) for k, v in row.items() if k in table.key}
                             for row in (r.result or {}).get("unexpected_index_list") or []]
                out.append(CheckResult(check, bool(r.success), (r.result or {}).get("element_count"),
                                       (r.result or {}).get("unexpected_count"), offending,
                                       _short(error) if error else None))
        return out

    def build_docs(self) -> Path:
        """Build the data docs and make them open offline; the index page's path.

        GX's own index lists results with JavaScript from a CDN; it is replaced by a static
        list of the validation and suite pages, newest run first."""
        self.ctx.build_data_docs()
        make_offline(self.docs)
        index = self.docs / "index.html"
        index.write_text(static_index(self.docs), encoding="utf-8")
        return index


def _python(value: Any, dtype: pl.DataType | None) -> Any:
    """A key value back from pandas as polars gives it (dates, not Timestamps; ints, not numpy ints)."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
        return value.date() if dtype == pl.Date else value
    return value.item() if hasattr(value, "item") else value


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def open_for_warehouse(root: Path, source: Path | None = None) -> WarehouseContext:
    """The contracts' GX context copied into `<root>/_gx/gx` (definitions refreshed, results kept)."""
    src = source or contracts_dir() / "gx"
    dst = root / "_gx" / "gx"
    dst.mkdir(parents=True, exist_ok=True)
    for name in DEFINITIONS:
        if (dst / name).is_dir():
            shutil.rmtree(dst / name)
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name)
        else:
            shutil.copy2(src / name, dst / name)
    ctx = gx.get_context(mode="file", project_root_dir=str(dst.parent))
    return WarehouseContext(ctx, root / DOCS_DIR)


# Data docs pull bootstrap, jQuery, fonts and logos from CDNs; offline those requests fail. The
# pages' content is plain HTML, so tags that fetch from the network and the scripts that need
# them are dropped, and a small local style sheet keeps the tables readable.
_REMOTE_TAG = re.compile(
    r"<(script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']https?://[^>]*>(?:\s*</script>)?", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)  # inline: need jQuery
_REMOTE_CSS = re.compile(r"@import\s+url\([\"']?https?://[^)]*\)\s*;?", re.IGNORECASE)
_STYLE = ("<style>body{font-family:system-ui,sans-serif;margin:1rem;}table{border-collapse:collapse;}"
          "td,th{border:1px solid #ccc;padding:2px 6px;}.d-none{display:none}</style>")


def make_offline(site: Path) -> int:
    """Strip network fetches from the data docs under `site`; the number of pages rewritten."""
    n = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        clean = _SCRIPT.sub("", _REMOTE_CSS.sub("", _REMOTE_TAG.sub("", text)))
        if "</head>" in clean and _STYLE not in clean:
            clean = clean.replace("</head>", _STYLE + "</head>", 1)
        if clean != text:
            page.write_text(clean, encoding="utf-8")
            n += 1
    return n


_STATUS = re.compile(r"Status:</span>.{0,200}?(Succeeded|Failed)", re.DOTALL)


def static_index(site: Path) -> str:
    """An index page of the data docs without scripts: validation results per run, then the suites."""
    runs: dict[str, list[tuple[str, str, str]]] = {}
    for page in site.glob("validations/*/*/*/*.html"):  # validations/<suite>/<run name>/<run time>/<page>
        found = _STATUS.search(page.read_text(encoding="utf-8"))
        status = found.group(1) if found else "?"
        runs.setdefault(page.parts[-3], []).append((page.parts[-4], status, page.relative_to(site).as_posix()))
    rows = []
    for run in sorted(runs, reverse=True):  # hingeflow run ids sort by time
        for table, status, href in sorted(runs[run]):
            mark = "ok" if status == "Succeeded" else "FAILED" if status == "Failed" else status
            rows.append(f'<tr><td>{run}</td><td>{table}</td><td class="{mark}">{mark}</td>'
                        f'<td><a href="{href}">results</a></td></tr>')
    suites = "".join(f'<li><a href="expectations/{p.name}">{p.stem}</a></li>'
                     for p in sorted(site.glob("expectations/*.html")))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>hingeflow data docs</title>"
            + _STYLE.replace("</style>", ".FAILED{color:#b00;font-weight:bold}.ok{color:#070}</style>")
            + "</head><body><h1>hingeflow data docs</h1>"
            "<p>Great Expectations results of every validated table, newest run first. "
            "The suites are written from <code>src/hingeflow/schemas.py</code>.</p>"
            "<h2>Validation results</h2><table><tr><th>run</th><th>table</th><th>status</th>"
            "<th></th></tr>" + "".join(rows) + "</table><h2>Expectation suites</h2><ul>" + suites
            + "</ul></body></html>")
