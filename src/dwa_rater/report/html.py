"""A small builder for self-contained HTML reports: sections, tables and embedded PNG plots.

Every report the tool writes (agreement, calibration, indices, the study) is one HTML file with
its images inlined as ``data:`` URIs, so it can be mailed to a colleague as it is.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;margin:2rem auto;
max-width:70rem;color:#222;line-height:1.45;padding:0 1rem}
h1{border-bottom:2px solid #335;padding-bottom:.3rem}h2{margin-top:2.2rem;color:#335}
table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:right}
th{background:#eef}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}
img{max-width:100%;height:auto;border:1px solid #eee}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.5rem .8rem}
code{background:#f3f3f6;padding:0 .2rem}
"""


def figure_to_data_uri(figure: Figure, dpi: int = 110) -> str:
    """Render a matplotlib figure to a PNG ``data:`` URI and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class HtmlReport:
    """Accumulates report parts in order; :meth:`write` saves one self-contained HTML file."""

    title: str
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.parts.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css_class: str | None = None) -> None:
        cls = f' class="{css_class}"' if css_class else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, frame: pd.DataFrame, float_format: str = "{:.3f}", index: bool = False) -> None:
        """Append a table; every cell is HTML-escaped."""
        shown = frame.copy()
        for column in shown.columns:
            if pd.api.types.is_float_dtype(shown[column]):
                shown[column] = shown[column].map(
                    lambda v: "" if pd.isna(v) else float_format.format(v)
                )
        self.parts.append(shown.to_html(index=index, escape=True, na_rep="", border=0))

    def figure(self, figure: Figure, caption: str = "") -> None:
        uri = figure_to_data_uri(figure)
        alt = html.escape(caption or "figure")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img src="{uri}" alt="{alt}">{cap}</figure>')

    def raw(self, fragment: str) -> None:
        """Append trusted HTML built by the tool itself (never user text)."""
        self.parts.append(fragment)

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n"
        )

    def write(self, path: Path) -> Path:
        """Write atomically (temp file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(self.render(), encoding="utf-8")
        os.replace(temporary, path)
        return path
