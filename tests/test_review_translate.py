"""Machine translations of statements (dwa_rater.review.translate) from a loopback chat server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dwa_rater.errors import EndpointError
from dwa_rater.review.context import read_translations
from dwa_rater.review.translate import (
    TranslatorSpec,
    openai_translator,
    translate_statements,
    write_translations,
)
from dwa_rater.testing.loopback import LoopbackHandler, LoopbackServer

DICTIONARY = {
    "Review art or design materials.": "审阅艺术或设计材料。",
    "Drive trucks.": "驾驶卡车。",
}


class ChatServer(LoopbackServer):
    """Answers chat completions with the dictionary entry of the statement in the prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []
        self.authorization: list[str] = []

    def respond(self, handler: LoopbackHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = json.loads(handler.rfile.read(length) or b"{}")
        prompt = body["messages"][-1]["content"]
        self.prompts.append(prompt)
        self.authorization.append(handler.headers.get("Authorization", ""))
        text = next(v for k, v in DICTIONARY.items() if prompt.endswith(k))
        answer = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f" “{text}” "}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip
        payload = json.dumps(answer).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


def test_translations_are_made_once_then_cached(tmp_path: Path) -> None:
    statements = {"D1": "Review art or design materials.", "D2": "Drive trucks."}
    with ChatServer() as server:
        spec = TranslatorSpec(server.base_url, "tiny-translator", api_key_env="TRANSLATE_KEY")
        translator = openai_translator(spec, {"TRANSLATE_KEY": "secret-translate-key"})
        table, sent = translate_statements(statements, spec, tmp_path / "cache", translator)
        assert sent == 2 and len(server.prompts) == 2
        assert "Simplified Chinese" in server.prompts[0]
        assert server.authorization[0] == "Bearer secret-translate-key"
        again, sent_again = translate_statements(statements, spec, tmp_path / "cache", translator)
        assert sent_again == 0 and len(server.prompts) == 2
    assert table["translation"].tolist() == ["审阅艺术或设计材料。", "驾驶卡车。"]
    assert again.equals(table)
    assert set(table["source"]) == {"machine translation (tiny-translator)"}
    out = write_translations(table, tmp_path / "translations.csv")
    found = read_translations(out)
    assert found["D2"].text == "驾驶卡车。" and "tiny-translator" in found["D2"].source
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"secret-translate-key" not in path.read_bytes(), path


def test_a_missing_key_is_a_clear_error() -> None:
    spec = TranslatorSpec("http://127.0.0.1:9/v1", "m", api_key_env="NOT_SET_ANYWHERE")
    with pytest.raises(EndpointError, match="NOT_SET_ANYWHERE"):
        openai_translator(spec, {})
