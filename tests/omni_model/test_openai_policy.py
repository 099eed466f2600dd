"""OpenAIPolicy against small local servers speaking the /v1/completions shape (and failing)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from omni_model import load_policy
from omni_model.errors import ServerError, UnsupportedError
from omni_model.openai_policy import OpenAIPolicy
from omni_model.policy import Policy


class CompletionsServer:
    """Answers POST /v1/completions; `mode` picks the behaviour, `requests` records bodies."""

    def __init__(self, mode: str = "openai"):
        self.mode = mode
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_path"] = self.path
                body["_auth"] = self.headers.get("Authorization")
                server.requests.append(body)
                status, payload = server.answer(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, body: dict) -> tuple[int, object]:
        if self.mode == "garbage":
            return 200, b"<html>definitely not json"
        if self.mode == "wrong-shape":
            return 200, {"result": "ok"}
        if self.mode == "500":
            return 500, {"error": "model crashed"}
        n = body.get("n", 1)
        if self.mode == "refuse-n" and n > 1:
            return 400, {"error": "n is not supported"}
        if self.mode == "ollama":
            n = 1  # accepts n but silently returns one choice
        seed = body.get("seed", 0)
        choices = []
        for i in range(n):
            if body.get("stop") and i % 2 == 1:
                text, reason, toks = "partial", "stop", [-0.5, -0.25]
            else:
                text, reason, toks = f"sample {i} seed {seed}", "length", [-1.0, -2.0, -3.0]
            choices.append({"index": i, "text": text, "finish_reason": reason,
                            "logprobs": {"tokens": ["x"] * len(toks), "token_logprobs": toks}})
        return 200, {"id": "cmpl-1", "object": "text_completion", "model": body["model"], "choices": choices}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request):
    srv = CompletionsServer(getattr(request, "param", "openai"))
    yield srv
    srv.close()


def test_n_in_one_request(server):
    with httpx.Client() as client:
        policy = OpenAIPolicy(server.url + "/v1", "tiny", client=client, api_key="sk-test")
        out = policy.generate(["p1", "p2"], n=3, temperature=0.7, top_p=0.9, max_new_tokens=5, seed=7)
    assert isinstance(policy, Policy)
    assert [len(g) for g in out] == [3, 3]
    assert len(server.requests) == 2  # one per prompt, each asking for all n
    req = server.requests[0]
    assert req["_path"] == "/v1/completions" and req["_auth"] == "Bearer sk-test"
    assert {k: req[k] for k in ("model", "prompt", "n", "temperature", "top_p", "max_tokens", "logprobs", "seed")} \
        == {"model": "tiny", "prompt": "p1", "n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 5,
            "logprobs": 1, "seed": 7}
    c = out[0][0]
    assert (c.text, c.finish_reason, c.tokens, c.token_logprobs) == ("sample 0 seed 7", "length", 3, [-1.0, -2.0, -3.0])
    assert c.logprob == -6.0


def test_stop_mapping(server):
    policy = OpenAIPolicy(server.url, "tiny")  # base URL without /v1 gets it appended
    [group] = policy.generate(["p"], n=2, stop=["seed"], max_new_tokens=5)
    assert server.requests[0]["stop"] == ["seed"] and server.requests[0]["_path"] == "/v1/completions"
    # The first choice echoes the stop string: cut client-side; the second ended on "stop".
    assert (group[0].text, group[0].finish_reason) == ("sample 0 ", "stop")
    assert (group[1].text, group[1].finish_reason, group[1].tokens) == ("partial", "stop", 2)
    policy.close()


@pytest.mark.parametrize("server", ["refuse-n", "ollama"], indirect=True)
def test_falls_back_to_one_request_per_sample(server):
    policy = OpenAIPolicy(server.url, "tiny")
    [group] = policy.generate(["p"], n=3, seed=100, max_new_tokens=4)
    assert len(group) == 3
    assert [c.text for c in group] == ["sample 0 seed 100", "sample 0 seed 101", "sample 0 seed 102"]
    singles = [r for r in server.requests if "n" not in r]
    assert [r["seed"] for r in singles] == [100, 101, 102]


@pytest.mark.parametrize("server,match", [("garbage", "non-JSON"), ("wrong-shape", "choices"), ("500", "HTTP 500")],
                         indirect=["server"])
def test_bad_servers(server, match):
    policy = OpenAIPolicy(server.url, "tiny")
    with pytest.raises(ServerError, match=match) as err:
        policy.generate(["p"], n=2)
    assert server.url in str(err.value)


def test_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = OpenAIPolicy(f"http://127.0.0.1:{port}/v1", "tiny")
    with pytest.raises(ServerError, match=f"cannot reach http://127.0.0.1:{port}/v1/completions"):
        policy.generate(["p"])


def test_timeout_is_a_server_error():
    def slow(request):
        raise httpx.ReadTimeout("read timed out", request=request)

    policy = OpenAIPolicy("http://example.invalid/v1", "m", client=httpx.Client(transport=httpx.MockTransport(slow)))
    with pytest.raises(ServerError, match="timed out"):
        policy.generate(["p"])


def test_logits_processor_is_refused(server):
    policy = OpenAIPolicy(server.url, "tiny")
    with pytest.raises(UnsupportedError, match="logits processor"):
        policy.generate(["p"], logits_processor=object())
    assert server.requests == []


def test_load_policy_openai_spec(server):
    policy = load_policy(f"openai:{server.url}/v1#tiny-model")
    assert isinstance(policy, OpenAIPolicy)
    [[c]] = policy.generate(["hello"], max_new_tokens=3)
    assert server.requests[0]["model"] == "tiny-model" and c.text == "sample 0 seed 0"
    assert policy.count_tokens("12345678") == 2  # rough estimate without a tokenizer
