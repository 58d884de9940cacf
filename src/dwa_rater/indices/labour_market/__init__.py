"""Labour-market indices from scored postings, as in the 2024 PKU NSD / Zhaopin report.

All functions are pure and vectorised (pandas/numpy); scores stay on the 0-1 scale of the DWA
score table; shares are in percent (0-100) and their changes in percentage points.

- :mod:`.scoring`: posting score (:func:`score_postings`), the weighted mean of the scores of
  the posting's DWAs, ``sum_d W_d s_d / sum_d W_d``, where ``W_d`` is the DWA's weight summed
  over the posting's lines (:mod:`dwa_rater.indices.mapping`). DWAs without a score are left
  out of both sums; a posting with no scored DWA has no score (NaN).
- :mod:`.occupations`: occupation index (:func:`occupation_index_by_year`), the mean posting
  score per occupation category and calendar year, and its change between two years
  (:func:`occupation_index_change`), or per window (:func:`occupation_index_in`); the city
  index's ``within-city`` variant (:func:`city_exposure_index`; the report's weighting is in
  :mod:`dwa_rater.indices.city`); market changes per occupation
  (:func:`occupation_market_changes`): posting, applicant, bachelor's-degree and 3+ years'
  experience shares.
- :mod:`.relationships`: Pearson r with its two-sided p-value and the OLS slope of each change
  on the occupation index (of the first year) with a t-based 95% interval
  (:func:`index_relationships`).
- :mod:`.ai_talent`: AI talent demand (:func:`ai_talent_demand`): for given AI occupations,
  year-on-year posting growth, mean monthly salary and its growth, education and experience
  distributions and the top-N skills.
- :mod:`.pipeline` (every table in one value) and :mod:`.files` (postings, mapping and scores
  on disk -> CSV tables). Rendering lives in :mod:`dwa_rater.report.labour_market`.
- City index: :mod:`dwa_rater.indices.city` (weightings ``national``, the report's, as default;
  ``national-all``; ``within-city``); time windows: :mod:`dwa_rater.indices.periods`.
"""

from __future__ import annotations

from dwa_rater.indices.labour_market.ai_talent import (
    EDUCATION_GROUPS,
    EXPERIENCE_BINS,
    AiTalentDemand,
    ai_talent_demand,
    assign_ai_occupations,
)
from dwa_rater.indices.labour_market.files import (
    ai_talent_from_file,
    indices_from_files,
    read_dwa_scores,
    write_ai_talent_demand,
    write_labour_market_indices,
)
from dwa_rater.indices.labour_market.occupations import (
    city_exposure_index,
    city_exposure_index_by_year,
    occupation_index_by_year,
    occupation_index_change,
    occupation_index_change_between,
    occupation_index_in,
    occupation_market_changes,
    occupation_market_shares,
)
from dwa_rater.indices.labour_market.pipeline import (
    LabourMarketIndices,
    build_labour_market_indices,
)
from dwa_rater.indices.labour_market.relationships import (
    RELATIONSHIP_VARIABLES,
    LinearFit,
    index_relationships,
    linear_fit,
)
from dwa_rater.indices.labour_market.scoring import (
    MEASURES,
    PostingScorer,
    dwa_score_series,
    score_postings,
    score_postings_from_dwas,
)

__all__ = [
    "EDUCATION_GROUPS",
    "EXPERIENCE_BINS",
    "MEASURES",
    "RELATIONSHIP_VARIABLES",
    "AiTalentDemand",
    "LabourMarketIndices",
    "LinearFit",
    "PostingScorer",
    "ai_talent_demand",
    "ai_talent_from_file",
    "assign_ai_occupations",
    "build_labour_market_indices",
    "city_exposure_index",
    "city_exposure_index_by_year",
    "dwa_score_series",
    "index_relationships",
    "indices_from_files",
    "linear_fit",
    "occupation_index_by_year",
    "occupation_index_change",
    "occupation_index_change_between",
    "occupation_index_in",
    "occupation_market_changes",
    "occupation_market_shares",
    "read_dwa_scores",
    "score_postings",
    "score_postings_from_dwas",
    "write_ai_talent_demand",
    "write_labour_market_indices",
]
