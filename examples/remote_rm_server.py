"""A remote reward endpoint speaking OpenRLHF's protocol, for --remote_rm_url (standard library only).

POST /get_reward with JSON {"query": [prompt + response], "prompts": [prompt], "labels": [label]}
answers {"rewards": [...], "scores": [...], "extra_logs": {"exact_match_accuracy": mean}}.

The rule is the one of rlhf-node's built-in exact_match reward: 1 when the response's final answer
(last \\boxed{...}, else the text after the last ####, else its last number, else the whole text)
equals the label's (last \\boxed{...}, else after ####, else the whole label); numbers compare by value.

    python3 examples/remote_rm_server.py --port 5000
"""
import argparse
import json
import re
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")


def last_boxed(text):
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def normalise(s):
    t = s.strip()
    while len(t) > 1 and t.startswith("$") and t.endswith("$"):
        t = t[1:-1].strip()
    if t.endswith("."):
        t = t[:-1].strip()
    return t.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", t) else t


def answer(text, last_number):
    boxed = last_boxed(text)
    if boxed is not None:
        return normalise(boxed)
    if "####" in text:
        return normalise(text[text.rfind("####") + 4:])
    numbers = NUMBER.findall(text) if last_number else []
    return normalise(numbers[-1] if numbers else text)


def same(a, b):
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


def reward(query, prompt, label):
    if not label.strip():
        return 0.0
    response = query[len(prompt):] if query.startswith(prompt) else query
    return 1.0 if same(answer(response, True), answer(label, False)) else 0.0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        rewards = [reward(q, p, l) for q, p, l in zip(body["query"], body["prompts"], body["labels"])]
        reply = json.dumps({"rewards": rewards, "scores": rewards,
                            "extra_logs": {"exact_match_accuracy": sum(rewards) / max(1, len(rewards))}})
        data = reply.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # one line per batch is enough
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"reward endpoint on http://{args.host}:{server.server_port}/get_reward", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
