"""Pooled line-to-DWA scores over a DWA's title and task texts, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dwa_rater.errors import ConfigError
from dwa_rater.indices.mapping import MappingConfig
from dwa_rater.indices.text_pooling import blend_title_and_texts, log_mean_exp_per_dwa


def test_log_mean_exp_by_hand() -> None:
    # One line; texts 0 and 2 belong to DWA 1, text 1 to DWA 0; DWA 2 owns nothing.
    similarities = np.array([[0.8, 0.5, 0.6]])
    owner = np.array([1, 0, 1])
    pooled = log_mean_exp_per_dwa(similarities, owner, 3, temperature=0.1)
    # DWA 1: 0.1 * log((e^8 + e^6) / 2) = 0.8 + 0.1 * log((1 + e^-2) / 2) = 0.7433781
    assert pooled[0, 1] == pytest.approx(0.8 + 0.1 * math.log((1 + math.exp(-2)) / 2))
    assert pooled[0, 1] == pytest.approx(0.7433781, abs=1e-7)
    assert pooled[0, 0] == pytest.approx(0.5)  # one text: its own cosine
    assert math.isnan(pooled[0, 2])


def test_log_mean_exp_lies_between_mean_and_max() -> None:
    similarities = np.array([[0.9, 0.7, 0.2], [0.1, 0.1, 0.1]])
    owner = np.array([0, 0, 0])
    cold = log_mean_exp_per_dwa(similarities, owner, 1, temperature=1e-4)
    hot = log_mean_exp_per_dwa(similarities, owner, 1, temperature=1e4)
    assert cold[0, 0] == pytest.approx(0.9, abs=1e-3)  # T -> 0: the best text
    assert hot[0, 0] == pytest.approx(0.6, abs=1e-3)  # T -> infinity: the mean
    assert cold[1, 0] == pytest.approx(0.1) and hot[1, 0] == pytest.approx(0.1)


def test_blend_by_hand() -> None:
    title = np.array([[0.5, 0.7]])
    texts = np.array([[0.9, np.nan]])
    blended = blend_title_and_texts(title, texts, title_weight=0.3)
    # 0.3 * 0.5 + 0.7 * 0.9 = 0.78; a DWA without texts keeps its title's 0.7.
    np.testing.assert_allclose(blended, [[0.78, 0.7]])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        log_mean_exp_per_dwa(np.zeros((1, 1)), np.array([0]), 1, temperature=0.0)
    with pytest.raises(ConfigError):
        blend_title_and_texts(np.zeros((1, 1)), np.zeros((1, 1)), title_weight=1.5)
    with pytest.raises(ConfigError):
        MappingConfig(title_weight=-0.1)
    with pytest.raises(ConfigError):
        MappingConfig(task_temperature=0.0)
