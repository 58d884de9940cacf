"""The converters by name, as the registry refers to them (``Source.converter``)."""

from __future__ import annotations

from dwa_rater.data import convert_files, convert_tables
from dwa_rater.data.convert_files import Converter

CONVERTERS: dict[str, Converter] = {
    "onet_text_release": convert_files.onet_text_release,
    "copy_task_summary": convert_files.copy_task_summary,
    "copy_ilo_2023": convert_files.copy_ilo_2023,
    "copy_nesta": convert_files.copy_nesta,
    "felten_appendix": convert_tables.felten_appendix,
    "felten_generative": convert_tables.felten_generative,
    "ilo_2025_tasks": convert_tables.ilo_2025_tasks,
    "webb_stata": convert_tables.webb_stata,
    "crosswalks": convert_tables.crosswalks,
}
