"""Matplotlib set-up shared by every plot: headless backend and a font that renders Chinese."""

from __future__ import annotations

from functools import cache

#: Fonts tried in order; Debian's ``fonts-noto-cjk`` provides the first.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)


@cache
def configure_matplotlib() -> str | None:
    """Select the Agg backend and a CJK-capable font if one is installed; return its name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    available = {f.name for f in font_manager.fontManager.ttflist}
    chosen = next((name for name in CJK_FONTS if name in available), None)
    if chosen is None:
        # The font cache may predate a font installed since (e.g. by the set-up script).
        font_manager.fontManager = font_manager._load_fontmanager(  # type: ignore[attr-defined]
            try_read_cache=False
        )
        available = {f.name for f in font_manager.fontManager.ttflist}
        chosen = next((name for name in CJK_FONTS if name in available), None)
    if chosen:
        rcParams["font.sans-serif"] = [chosen, *rcParams["font.sans-serif"]]
        rcParams["font.family"] = "sans-serif"
    rcParams["axes.unicode_minus"] = False
    return chosen
