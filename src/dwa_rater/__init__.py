"""dwa_rater: rate work activities for their exposure to large language models."""

from __future__ import annotations

__version__ = "0.1.0"
