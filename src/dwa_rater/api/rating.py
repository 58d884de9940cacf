"""Rating from Python: O*NET items in, a long ratings table (pandas) out.

The functions behind ``dwa_rater.rate`` and ``dwa_rater.arate``. They run the same engine as
``dwa-rater rate`` (cache, retries, resume, provenance) and return the rows of the ratings table
for the items and raters asked for. :func:`rate` also works inside a running event loop (a
Jupyter cell): it then runs the rating in a worker thread and waits for it.

Example (the embedded smoke-test model when no rater is given)::

    import dwa_rater

    onet = dwa_rater.load_onet("data/onet")            # folder or the official zip
    items = dwa_rater.dwa_items(onet).head(3)          # id, text, context, item_type
    table = dwa_rater.rate(items, raters=[{
        "name": "gpt-4o-mini", "base_url": "https://api.openai.com/v1",
        "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY",
    }])
    table[["item_id", "rater", "label", "score"]]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from dwa_rater import catalog
from dwa_rater.config import (
    RaterSpec,
    ad_hoc_rater_name,
    build_raters,
    default_rater,
    load_raters,
)
from dwa_rater.errors import ConfigError
from dwa_rater.paths import resolve_home, resolve_onet_source, resolve_prompts_dir
from dwa_rater.schemas import Item

logger = logging.getLogger(__name__)

#: What ``items`` may be: a table (id, text[, context][, item_type]), statements, or items.
ItemsInput: TypeAlias = pd.DataFrame | Sequence[str] | Sequence[Item]
#: What ``raters`` may be: rater settings (the raters-file keys), a raters TOML, or None.
RatersInput: TypeAlias = (
    Sequence[Mapping[str, Any]] | Sequence[RaterSpec] | str | os.PathLike[str] | None
)

ITEM_COLUMNS = ("id", "text", "context", "item_type")
ITEM_TYPES = ("dwa", "task", "custom")


def load_onet(path: str | os.PathLike[str] | None = None) -> catalog.OnetTables:
    """The O*NET tables (DWAs, tasks, task-DWA links, occupations) from a release.

    ``path`` is the text release as a folder or the official zip; ``None`` uses
    ``$DWA_RATER_ONET_DIR``, else ``$DWA_RATER_DATA_DIR/onet``. Example::

        >>> onet = load_onet("data/onet")                       # doctest: +SKIP
        >>> onet.version, len(onet.dwas)                        # doctest: +SKIP
        ('30.1', 2087)
    """
    source = resolve_onet_source(Path(path) if path is not None else None, os.environ)
    return catalog.load_onet(source)


def _items_table(items: Iterable[Item]) -> pd.DataFrame:
    rows = [(i.item_id, i.text, i.context, i.item_type) for i in items]
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))


def dwa_items(onet: catalog.OnetTables) -> pd.DataFrame:
    """One row per DWA (``id, text, context, item_type``), ready for :func:`rate`.

    ``context`` names the DWA's IWA and GWA. Example::

        >>> dwa_items(load_onet("data/onet")).head(2)           # doctest: +SKIP
    """
    return _items_table(catalog.dwa_items(onet))


def task_items(onet: catalog.OnetTables) -> pd.DataFrame:
    """One row per O*NET task statement (``id, text, context, item_type``); context: occupation."""
    return _items_table(catalog.task_items(onet))


def as_items(items: ItemsInput) -> list[Item]:
    """Items from a table (``id`` or ``item_id``, ``text``, optional ``context`` and
    ``item_type``), a list of statements (ids ``1``, ``2``, ... in list order) or ``Item``\\ s.

    Example::

        >>> [i.item_id for i in as_items(["Write reports.", "Lift boxes."])]
        ['1', '2']
    """
    if isinstance(items, pd.DataFrame):
        types = items["item_type"] if "item_type" in items.columns else None
        table = items.drop(columns="item_type") if types is not None else items
        parsed = catalog.items_from_frame(table, source="items table")
        if types is None:
            return parsed
        values = [str(t).strip() for t in types]
        unknown = sorted(set(values) - set(ITEM_TYPES))
        if unknown:
            raise ConfigError(
                f"items table: unknown item_type {unknown[0]!r} (use {', '.join(ITEM_TYPES)})"
            )
        return [i.model_copy(update={"item_type": t}) for i, t in zip(parsed, values, strict=True)]
    if isinstance(items, str):
        raise ConfigError("items: give a list of statements or a table, not one string")
    listed = list(items)
    if not listed:
        raise ConfigError("nothing to rate: the item list is empty")
    if all(isinstance(i, Item) for i in listed):
        return [i for i in listed if isinstance(i, Item)]
    if all(isinstance(i, str) for i in listed):
        frame = pd.DataFrame({"id": [str(n) for n in range(1, len(listed) + 1)], "text": listed})
        return catalog.items_from_frame(frame, source="items list")
    raise ConfigError("items: give a table (id, text[, context]), statements or Item objects")


def _rater_name(values: Mapping[str, Any]) -> str:
    return ad_hoc_rater_name(values.get("model"), values.get("rubric"))


def as_raters(raters: RatersInput = None, rubric: str | None = None) -> list[RaterSpec]:
    """Rater specs from settings (the raters-file keys), a raters TOML, or the embedded default.

    A settings mapping without ``name`` is named ``<model>-<rubric>``. ``rubric`` (e.g.
    ``"ilo@v1"``) applies to every rater that does not name its own. Keys are never given
    directly: ``api_key_env`` names the environment variable that holds one. Example::

        >>> [r.name for r in as_raters([{"base_url": "http://127.0.0.1:8000/v1", "model": "m"}])]
        ['m-exposure']
    """
    specs: list[RaterSpec]
    if raters is None:
        specs = [default_rater()]
    elif isinstance(raters, str | os.PathLike):
        specs = load_raters(Path(raters))
    else:
        listed = list(raters)
        if listed and all(isinstance(r, RaterSpec) for r in listed):
            specs = [r for r in listed if isinstance(r, RaterSpec)]
        elif all(isinstance(r, Mapping) for r in listed):
            entries = []
            for entry in listed:
                assert isinstance(entry, Mapping)
                if "api_key" in entry:
                    raise ConfigError(
                        "raters: give api_key_env (the NAME of an environment variable "
                        "holding the key), never the key itself"
                    )
                values = dict(entry)
                if "name" not in values:
                    values["name"] = _rater_name({**values, "rubric": values.get("rubric", rubric)})
                entries.append(values)
            specs = build_raters(entries, where="raters")
        else:
            raise ConfigError("raters: give a list of settings dicts, a raters TOML path or None")
    if rubric is not None:
        specs = [
            s if "rubric" in s.model_fields_set else s.model_copy(update={"rubric": rubric})
            for s in specs
        ]
    return specs


def _run(
    items: list[Item],
    specs: list[RaterSpec],
    out: Path | None,
    cache_dir: Path,
    prompts_dir: Path,
    environ: Mapping[str, str],
    on_progress: Callable[[Any], None] | None,
) -> pd.DataFrame:
    from dwa_rater.runs import execute_run
    from dwa_rater.store import read_ratings

    with tempfile.TemporaryDirectory(prefix="dwa_rater-") as scratch:
        target = out if out is not None else Path(scratch) / "ratings.csv"
        logger.info("rating %d item(s) with %d rater(s) into %s", len(items), len(specs), target)
        result = execute_run(
            items,
            specs,
            out=target,
            cache_dir=cache_dir,
            environ=environ,
            prompts_dir=prompts_dir,
            on_progress=on_progress,
        )
        progress = result.progress
        logger.info(
            "run %s: %d rated, %d from cache, %d already done, %d failed",
            result.run_id,
            progress.done,
            progress.cached,
            progress.skipped,
            progress.failed,
        )
        if progress.failed:
            logger.warning(
                "%d rating(s) failed (status 'failed'); call again to retry them", progress.failed
            )
        frame = read_ratings(result.out)
        manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    wanted_items = [i.item_id for i in items]
    wanted = frame["item_id"].isin(wanted_items) & frame["rater"].isin([s.name for s in specs])
    table = frame[wanted].reset_index(drop=True)
    table.attrs["run"] = manifest
    return table


def _prepare(
    items: ItemsInput,
    raters: RatersInput,
    rubric: str | None,
    out: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    prompts_dir: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
) -> tuple[list[Item], list[RaterSpec], Path | None, Path, Path, Mapping[str, str]]:
    env = dict(os.environ if environ is None else environ)
    parsed = as_items(items)
    specs = as_raters(raters, rubric)
    cache = Path(cache_dir) if cache_dir is not None else resolve_home(env) / "responses"
    rubrics = resolve_prompts_dir(Path(prompts_dir) if prompts_dir is not None else None, env)
    target = Path(out) if out is not None else None
    return parsed, specs, target, cache, rubrics, env


def rate(
    items: ItemsInput,
    raters: RatersInput = None,
    *,
    rubric: str | None = None,
    out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> pd.DataFrame:
    """Rate ``items`` with ``raters``; return the long ratings table of those items and raters.

    - ``items``: a DataFrame with ``id`` (or ``item_id``), ``text`` and optionally ``context``
      and ``item_type`` (as :func:`dwa_items` returns), a list of statements, or ``Item``\\ s.
    - ``raters``: a list of dicts with the raters-file keys (``name``, ``base_url`` or
      ``provider``, ``model``, ``api_key_env``, ``rubric``, ``samples``, ``batch_size``, ...),
      a path to a raters TOML, or ``None`` for the embedded smoke-test model.
    - ``rubric``: e.g. ``"exposure"`` or ``"ilo@v1"``, for raters that do not name one.
    - ``out``: the ratings file (``.csv`` journal or ``.parquet``) to keep and resume; by
      default a temporary one (the cache still saves every answer).
    - ``cache_dir``: the response cache (default ``$DWA_RATER_HOME/responses``);
      ``prompts_dir``: your rubrics on top of the shipped ones (default
      ``$DWA_RATER_PROMPTS_DIR``); ``environ``: where API keys are read (default
      ``os.environ``).

    Returns one row per item x rater x sample with the columns of
    :data:`dwa_rater.schemas.RATING_COLUMNS` (``status`` is ``failed`` for a rating that
    could not be obtained; call again to retry it); ``table.attrs["run"]`` is the run's
    manifest. Inside a running event loop (a notebook cell) the run happens in a worker
    thread; from async code prefer ``await arate(...)``. Example::

        >>> table = rate(["Write reports.", "Lift heavy boxes."],
        ...              raters=[{"name": "local", "base_url": "http://127.0.0.1:8000/v1",
        ...                       "model": "my-model"}])        # doctest: +SKIP
        >>> table.groupby("rater")["label"].value_counts()      # doctest: +SKIP
    """
    prepared = _prepare(items, raters, rubric, out, cache_dir, prompts_dir, environ)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(*prepared, on_progress)
    # asyncio.run cannot nest inside a running loop: give the run a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dwa_rater-rate") as pool:
        return pool.submit(_run, *prepared, on_progress).result()


async def arate(
    items: ItemsInput,
    raters: RatersInput = None,
    *,
    rubric: str | None = None,
    out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> pd.DataFrame:
    """:func:`rate` for async code: the event loop stays free while the run goes on.

    Same arguments and result as :func:`rate`. Example::

        >>> table = await arate(items, raters="raters.toml")    # doctest: +SKIP
    """
    prepared = _prepare(items, raters, rubric, out, cache_dir, prompts_dir, environ)
    return await asyncio.to_thread(_run, *prepared, on_progress)
