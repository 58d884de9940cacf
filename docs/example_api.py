# %% [markdown]
# # dwa_rater from Python: rate activities, measure agreement, build an occupation index
#
# A notebook as a script (`# %%` cells open in Jupyter, VS Code or jupytext). It runs in CI
# (`tests/test_api.py`): with no endpoint named in `EXAMPLE_BASE_URL` it starts a loopback
# fake OpenAI-compatible server, whose labels are made up, so the numbers below say nothing
# about the world. Point it at a real endpoint for real labels, e.g.
# `EXAMPLE_BASE_URL=https://api.openai.com/v1 EXAMPLE_MODEL=gpt-4o-mini
# EXAMPLE_API_KEY_ENV=OPENAI_API_KEY`.
#
# O*NET comes from `DWA_RATER_ONET_DIR` (a folder or the official text-release zip), else
# `$DWA_RATER_DATA_DIR/onet`; see docs/data.md for getting it.

# %%
import os

import dwa_rater

onet = dwa_rater.load_onet(os.environ.get("DWA_RATER_ONET_DIR"))
items = dwa_rater.dwa_items(onet).head(6)  # columns id, text, context, item_type
print(f"O*NET {onet.version}: {len(onet.dwas)} DWAs; rating {len(items)}")

# %% An endpoint: yours, or a loopback stand-in
base_url = os.environ.get("EXAMPLE_BASE_URL")
server = None
if base_url is None:
    from dwa_rater.testing.fake_openai import FakeOpenAIServer

    server = FakeOpenAIServer().start()
    base_url = server.base_url
model = os.environ.get("EXAMPLE_MODEL", "fake-model")
key_env = os.environ.get("EXAMPLE_API_KEY_ENV")  # the NAME of the variable, never the key

# %% Two raters: the exposure rubric at two temperatures, two samples for the second
raters = [
    {"name": "exposure-t0", "base_url": base_url, "model": model, "api_key_env": key_env},
    {
        "name": "exposure-t08",
        "base_url": base_url,
        "model": model,
        "api_key_env": key_env,
        "temperature": 0.8,
        "samples": 2,
    },
]
ratings = dwa_rater.rate(items, raters=raters)  # works in a notebook's running event loop too
print(ratings[["item_id", "rater", "sample", "label", "score"]].to_string(index=False))
print(
    "provenance:",
    ratings.attrs["run"]["run_id"],
    ratings.attrs["run"]["raters"][0]["prompt_sha256"][:12],
)

# %% Agreement between the two raters (Cohen's kappa, Krippendorff's alpha, ICC, ...)
agreement = dwa_rater.agree(ratings, n_bootstrap=100)
pair = agreement.summary["pairs"][0]
print(f"{pair['rater_a']} vs {pair['rater_b']}: {sorted(k for k in pair if 'kappa' in k)}")

# %% One score per DWA, then occupation alpha/beta/gamma through O*NET's task links
scores = dwa_rater.dwa_scores(ratings, rater="all")
occupations = dwa_rater.occupation_index(
    ratings, onet.tasks, onet.task_dwas, onet.occupations, rater="all"
)
print(scores.head().to_string(index=False))
print(occupations[["onetsoc_code", "title", "beta", "n_tasks"]].head().to_string(index=False))

# %% Async code awaits `arate` (same arguments); a second call is answered from the cache
import asyncio  # noqa: E402

again = asyncio.run(dwa_rater.arate(items, raters=raters))
print(f"second run: {int(again['cached'].sum())} of {len(again)} ratings from the cache")

# %%
if server is not None:
    server.stop()
