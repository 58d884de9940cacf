"""Which statements a run rates: O*NET DWAs or tasks, or a user's file, narrowed by the options.

``dwa-rater rate`` and anyone else who picks the items of a run (a script, the study) call
:func:`items_for_run`; reading the O*NET release and the user's file and the selection rules
themselves are in :mod:`dwa_rater.catalog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from dwa_rater import catalog
from dwa_rater.errors import ConfigError
from dwa_rater.schemas import Item

#: What to rate from an O*NET release.
OnetItemType = Literal["dwa", "task"]


def parse_item_ids(text: str | None) -> list[str] | None:
    """Comma-separated item ids as a list (blanks dropped); None when no text is given (all
    items), an empty list when the text names none.

    Example::

        >>> parse_item_ids(" 4.A.1.a.1.I01.D01, ,4.A.1.a.1.I01.D02")
        ['4.A.1.a.1.I01.D01', '4.A.1.a.1.I01.D02']
    """
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def items_for_run(
    *,
    items_file: Path | None = None,
    onet_source: Path | None = None,
    item_type: str = "dwa",
    ids: Sequence[str] | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[Item]:
    """The items of a run: a user's file (``items_file``, read as ``custom`` statements) when
    given, else the DWAs or tasks (``item_type``) of the O*NET release at ``onet_source``;
    then ``ids``, ``sample`` (seeded by ``seed``) and ``limit`` as
    :func:`dwa_rater.catalog.select_items` applies them.
    """
    if items_file is not None:
        items = catalog.load_items(items_file)
    else:
        if item_type not in ("dwa", "task"):
            raise ConfigError(f"item type {item_type!r}: rate O*NET's dwa or task statements")
        if onet_source is None:
            raise ConfigError("no O*NET release and no items file: nothing to rate")
        tables = catalog.load_onet(onet_source)
        items = catalog.task_items(tables) if item_type == "task" else catalog.dwa_items(tables)
    return catalog.select_items(items, ids=ids, limit=limit, sample=sample, seed=seed)
