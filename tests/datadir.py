"""Where the tests find the reference data: ``DWA_RATER_DATA_DIR`` (``.ci/run`` sets it).

Without it, a checkout beside ``shared/data`` (the developers' layout) still works; CI always
sets it, and fails rather than skips when the data is missing there.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("DWA_RATER_DATA_DIR") or REPO.parent / "shared" / "data")
