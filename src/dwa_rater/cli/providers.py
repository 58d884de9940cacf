"""``dwa-rater providers``: the provider presets and what each applies."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dwa_rater.cli.progress import output_console
from dwa_rater.providers import DEFAULT_CNY_PER_USD, PRESETS


def providers(
    prices: Annotated[bool, typer.Option(help="also list the presets' model prices")] = False,
    cny_per_usd: Annotated[
        float, typer.Option(min=0.01, help="CNY per USD for the USD column of CNY prices")
    ] = DEFAULT_CNY_PER_USD,
) -> None:
    """List the provider presets: base URL, key variable, structured output, refused parameters."""
    console = output_console()
    table = Table(title="provider presets (--provider NAME; --base-url overrides the URL)")
    for column in ("provider", "base URL", "key env var", "structured output", "refuses", "notes"):
        table.add_column(column)
    for preset in PRESETS.values():
        table.add_row(
            preset.name,
            preset.base_url or ("(local)" if preset.name == "embedded" else "(give --base-url)"),
            preset.api_key_env or "-",
            preset.structured_output,
            ", ".join(sorted(preset.refused)) or "-",
            preset.notes,
        )
    console.print(table)
    if not prices:
        return
    listing = Table(title=f"list prices per million tokens (USD at {cny_per_usd:g} CNY/USD)")
    for column in ("provider", "model", "input", "output", "currency", "input $", "output $"):
        listing.add_column(column, justify="right")
    for preset in PRESETS.values():
        for model, price in preset.prices.items():
            usd = price.in_usd(cny_per_usd)
            listing.add_row(
                preset.name,
                model,
                f"{price.input:g}",
                f"{price.output:g}",
                price.currency,
                f"{usd[0]:.3f}",
                f"{usd[1]:.3f}",
            )
    console.print(listing)


def register(app: typer.Typer) -> None:
    app.command("providers")(providers)
