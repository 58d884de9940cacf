"""What the study's steps computed, kept in memory for its report (typed, one field per step).

A field is None when its step did not run or failed; the step's record in
:class:`~dwa_rater.study.pipeline.StudyResult` says why. :func:`present` turns a field the
caller needs into its value, or a :class:`~dwa_rater.errors.DataError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dwa_rater.errors import present

if TYPE_CHECKING:
    import pandas as pd

    from dwa_rater.agreement.summary import AgreementResult
    from dwa_rater.calibration.combine import CalibrationResult
    from dwa_rater.indices.ai_development import AiDevelopmentResult
    from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
    from dwa_rater.indices.remote_work import RemoteWorkComparison
    from dwa_rater.indices.remote_work_trend import RemoteWorkTrend
    from dwa_rater.study.reference import StudyReference

__all__ = ["StudyArtifacts", "present"]


@dataclass
class StudyArtifacts:
    """In-memory results of the study's steps, for the report."""

    reference: StudyReference | None = None
    agreement: AgreementResult | None = None
    calibration: CalibrationResult | None = None
    #: O*NET occupation index, and its comparison with the published measures.
    occupations: pd.DataFrame | None = None
    published: pd.DataFrame | None = None
    labour: LabourMarketIndices | None = None
    ai_development: AiDevelopmentResult | None = None
    #: Category -> O*NET-SOC crosswalk used by the remote-work steps.
    crosswalk: pd.DataFrame | None = None
    remote_work: RemoteWorkComparison | None = None
    remote_trend: RemoteWorkTrend | None = None
