"""Logs: `log.format: json` gives one JSON object per line; connection problems are logged once per kind
per 10 s with a count, so a misbehaving client cannot flood the log."""
import asyncio
import json

from conftest import base_config
from wsclient import RawClient, assert_still_serving


def test_json_lines_and_one_line_per_problem_kind(start_herald):
    server = start_herald(base_config(log={"format": "json", "level": "info"}))

    async def scenario():
        for _ in range(50):
            violator = await RawClient.open(server.ws_url)
            await violator.send("not a command")
            assert (await violator.closed())[0] == 3501
        await assert_still_serving(server)

    asyncio.run(scenario())
    assert server.stop() == 0
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    assert all({"time", "level", "source", "message"} <= line.keys() for line in lines), lines
    assert any(line["message"] == "herald listening" and line["port"] == str(server.port) for line in lines)
    refused = [line for line in lines if line["message"] == "refused"]
    assert refused == [{**refused[0], "kind": "bad_request", "since_last_line": "1"}], refused


def test_text_format_is_the_default(herald):
    herald.stop()
    text = herald.log_path.read_text()
    assert not text.startswith("{") and "herald listening" in text
