"""dwa_rater: rate work activities for their exposure to large language models.

The Python API (imported on first use, so ``import dwa_rater`` stays light)::

    import dwa_rater

    onet = dwa_rater.load_onet("data/onet")                # O*NET text release: folder or zip
    items = dwa_rater.dwa_items(onet).sample(20, random_state=0)
    ratings = dwa_rater.rate(items, raters="raters.toml")  # long ratings table (pandas)
    agreement = dwa_rater.agree(ratings)                    # kappa, alpha, ICC, correlations
    scores = dwa_rater.dwa_scores(ratings, rater="all")     # one row per DWA
    occupations = dwa_rater.occupation_index(
        ratings, onet.tasks, onet.task_dwas, onet.occupations
    )

``rate`` also works inside a running event loop (a notebook cell); ``await arate(...)`` from
async code. Logging goes to the ``dwa_rater`` logger hierarchy (no handlers are installed).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# A library adds no handler of its own: the application decides where records go.
logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public name -> module that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {
    "load_onet": "dwa_rater.api.rating",
    "dwa_items": "dwa_rater.api.rating",
    "task_items": "dwa_rater.api.rating",
    "rate": "dwa_rater.api.rating",
    "arate": "dwa_rater.api.rating",
    "agree": "dwa_rater.api.analysis",
    "calibrate": "dwa_rater.api.analysis",
    # index builders
    "dwa_scores": "dwa_rater.indices.scores",
    "occupation_index": "dwa_rater.indices.onet",
    "compare_with_published": "dwa_rater.indices.published",
    "score_postings": "dwa_rater.indices.labour_market",
    "build_labour_market_indices": "dwa_rater.indices.labour_market",
    "occupation_index_by_year": "dwa_rater.indices.labour_market",
    "city_exposure_index": "dwa_rater.indices.labour_market",
    "ai_talent_demand": "dwa_rater.indices.labour_market",
    "ai_development_index": "dwa_rater.indices.ai_development",
    "remote_work_index": "dwa_rater.indices.remote_work",
    # errors
    "DwaRaterError": "dwa_rater.errors",
    "ConfigError": "dwa_rater.errors",
    "DataError": "dwa_rater.errors",
    "EndpointError": "dwa_rater.errors",
    "PromptError": "dwa_rater.errors",
}

__all__ = [
    "ConfigError",
    "DataError",
    "DwaRaterError",
    "EndpointError",
    "PromptError",
    "__version__",
    "agree",
    "ai_development_index",
    "ai_talent_demand",
    "arate",
    "build_labour_market_indices",
    "calibrate",
    "city_exposure_index",
    "compare_with_published",
    "dwa_items",
    "dwa_scores",
    "load_onet",
    "occupation_index",
    "occupation_index_by_year",
    "rate",
    "remote_work_index",
    "score_postings",
    "task_items",
]

if TYPE_CHECKING:
    from dwa_rater.api.analysis import agree, calibrate
    from dwa_rater.api.rating import arate, dwa_items, load_onet, rate, task_items
    from dwa_rater.errors import ConfigError, DataError, DwaRaterError, EndpointError, PromptError
    from dwa_rater.indices.ai_development import ai_development_index
    from dwa_rater.indices.labour_market import (
        ai_talent_demand,
        build_labour_market_indices,
        city_exposure_index,
        occupation_index_by_year,
        score_postings,
    )
    from dwa_rater.indices.onet import occupation_index
    from dwa_rater.indices.published import compare_with_published
    from dwa_rater.indices.remote_work import remote_work_index
    from dwa_rater.indices.scores import dwa_scores


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dwa_rater' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
