#!/usr/bin/python3
"""The PyTorch-eager peer of `rlhf-node bench`: the same Llama maths, written the way HuggingFace's eager
LlamaForCausalLM computes it, on a model directory that `rlhf-node init-model` wrote (config.json +
model.safetensors, float32). Run by examples/bench-vs-pytorch.sh with Debian's python3-torch; not a test.

  bench_pytorch.py logits   --model DIR --ids 1,5,9 --out FILE.json
  bench_pytorch.py generate --model DIR --batch 1,8 --prompt-len 64 --new-tokens 128 --repeats 2
  bench_pytorch.py train    --model DIR --micro-batch 4 --seq-len 256 --steps 3
  bench_pytorch.py compare  --model DIR --jar JAR [--rounds 2]

Output lines match what the jar prints, so `compare` parses both alike: it checks that the two compute the
same logits (<= 1e-4), then runs each phase of ours and the peer's in turn, `--rounds` times (interleaved),
and prints the best figure of each side, their ratio and each process's peak RSS.
"""
import argparse
import json
import math
import os
import re
import resource
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        raw = torch.frombuffer(data, dtype=torch.uint8, count=end - start, offset=start) if end > start \
            else torch.empty(0, dtype=torch.uint8)
        out[name] = raw.view(DTYPES[meta["dtype"]]).reshape(meta["shape"]).clone()
    return out


class Llama(torch.nn.Module):
    """HF LlamaForCausalLM's eager maths: RMSNorm, RoPE (rotate_half), GQA attention, SwiGLU MLP."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg = cfg
        self.h = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nh)
        self.hd = cfg.get("head_dim") or self.h // self.nh
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.layers = cfg["num_hidden_layers"]
        self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v) for k, v in w.items()})
        self.tied = "lm_head.weight" not in w
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def rms(self, x, name):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.w(name) * (x * torch.rsqrt(var + self.eps))

    @staticmethod
    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def forward(self, ids, cache=None, start=0):
        """ids [B, T]; cache: list of (k, v) per layer [B, nkv, S, hd] or None. Returns logits, new cache."""
        b, t = ids.shape
        x = F.embedding(ids, self.w("model.embed_tokens.weight"))
        pos = torch.arange(start, start + t, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None].to(x.dtype), emb.sin()[None, None].to(x.dtype)
        s = start + t
        mask = None
        if t > 1:
            mask = torch.full((t, s), float("-inf")).triu(start + 1).to(x.dtype)
        new_cache = []
        for i in range(self.layers):
            pre = f"model.layers.{i}."
            hn = self.rms(x, pre + "input_layernorm.weight")
            q = F.linear(hn, self.w(pre + "self_attn.q_proj.weight")).view(b, t, self.nh, self.hd).transpose(1, 2)
            k = F.linear(hn, self.w(pre + "self_attn.k_proj.weight")).view(b, t, self.nkv, self.hd).transpose(1, 2)
            v = F.linear(hn, self.w(pre + "self_attn.v_proj.weight")).view(b, t, self.nkv, self.hd).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if cache is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            new_cache.append((k, v))
            rep = self.nh // self.nkv
            kk = k.repeat_interleave(rep, dim=1) if rep > 1 else k
            vv = v.repeat_interleave(rep, dim=1) if rep > 1 else v
            att = torch.matmul(q, kk.transpose(2, 3)) / math.sqrt(self.hd)
            if mask is not None:
                att = att + mask
            att = F.softmax(att, dim=-1, dtype=torch.float32).to(q.dtype)
            o = torch.matmul(att, vv).transpose(1, 2).reshape(b, t, self.nh * self.hd)
            x = x + F.linear(o, self.w(pre + "self_attn.o_proj.weight"))
            hn = self.rms(x, pre + "post_attention_layernorm.weight")
            g = F.silu(F.linear(hn, self.w(pre + "mlp.gate_proj.weight"))) * F.linear(hn, self.w(pre + "mlp.up_proj.weight"))
            x = x + F.linear(g, self.w(pre + "mlp.down_proj.weight"))
        x = self.rms(x, "model.norm.weight")
        head = self.w("model.embed_tokens.weight") if self.tied else self.w("lm_head.weight")
        return F.linear(x, head), new_cache


def load(model_dir, dtype=torch.float32):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = {k: v.to(dtype) for k, v in load_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    return Llama(cfg, w)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cmd_logits(a):
    m = load(a.model)
    ids = torch.tensor([[int(x) for x in a.ids.split(",")]])
    with torch.no_grad():
        logits, _ = m(ids)
    json.dump({"shape": list(logits.shape[1:]), "logits": logits[0].flatten().tolist()}, open(a.out, "w"))


def cmd_generate(a):
    dtype = torch.bfloat16 if a.bf16 else torch.float32
    m = load(a.model, dtype)
    vocab = m.cfg["vocab_size"]
    print(f"peer pytorch {torch.__version__}, threads {torch.get_num_threads()}, dtype {dtype}")
    print("  tp  batch     prompt         new  prefill tok/s decode tok/s decode ms/step  collectives")
    g = torch.Generator().manual_seed(0)
    for batch in [int(x) for x in a.batch.split(",")]:
        best_pre, best_dec = 0.0, 0.0
        for r in range(a.repeats + 1):  # the first run warms up
            ids = torch.randint(3, vocab, (batch, a.prompt_len), generator=g)
            with torch.no_grad():
                t0 = time.perf_counter()
                logits, cache = m(ids)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                t1 = time.perf_counter()
                pos = a.prompt_len
                for _ in range(a.new_tokens - 1):
                    logits, cache = m(nxt, cache, pos)
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
                    pos += 1
                t2 = time.perf_counter()
            if r > 0:
                best_pre = max(best_pre, batch * a.prompt_len / (t1 - t0))
                best_dec = max(best_dec, batch * (a.new_tokens - 1) / (t2 - t1))
        print(f"   1 {batch:6d} {a.prompt_len:10d} {a.new_tokens:11d} {best_pre:14.1f} {best_dec:12.1f} "
              f"{1000 * batch / best_dec:14.2f}         0.0%")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


def cmd_train(a):
    torch.manual_seed(0)
    m = load(a.model)
    vocab = m.cfg["vocab_size"]
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5, weight_decay=0.0)
    best = None
    for step in range(a.steps + 1):  # step 0 warms up
        ids = torch.randint(3, vocab, (a.micro_batch, a.seq_len))
        t0 = time.perf_counter()
        logits, _ = m(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        if step > 0 and (best is None or t3 - t0 < best[0]):
            best = (t3 - t0, t1 - t0, t2 - t1, t3 - t2)
    print(f"peer pytorch {torch.__version__}, threads {torch.get_num_threads()}, micro-batch {a.micro_batch} x {a.seq_len}")
    print(f"step {best[0]:.2f} s = batch prep 0 s + forward {best[1]:.2f} s + backward {best[2]:.2f} s "
          f"+ optimizer {best[3]:.2f} s")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


def run(argv):
    """Runs argv; returns its output and its peak RSS in MiB (from wait4, per process)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{out[-2000:]}")
    return out, usage.ru_maxrss / 1024.0


def generate_rows(out):
    """batch -> (prefill tok/s, decode tok/s) from the table both sides print."""
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0] == "1" and f[1].isdigit():
            rows[int(f[1])] = (float(f[4]), float(f[5]))
    return rows


def train_step(out):
    m = re.search(r"step ([0-9.]+) s = .*forward ([0-9.]+) s \+ backward ([0-9.]+) s", out)
    if not m:
        raise SystemExit("no step line in:\n" + out[-2000:])
    return float(m.group(1)), float(m.group(3))


def cmd_compare(a):
    me = [sys.executable, os.path.abspath(__file__)]
    java = ["java", "-jar", a.jar]
    threads = os.environ.get("THREADS", "2")
    ids = "1,5,9,33,7,250,11,2,17,99,1000,4,8,15,16,23,42"
    tmp = os.path.join(a.work, "logits")
    run(java + ["forward", "--model", a.model, "--input-ids", ids, "--output", tmp + "-ours.json"])
    run(me + ["logits", "--model", a.model, "--ids", ids, "--out", tmp + "-peer.json"])
    ours, peer = json.load(open(tmp + "-ours.json")), json.load(open(tmp + "-peer.json"))
    diff = max(abs(x - y) for x, y in zip(ours["logits"], peer["logits"]))
    print(f"logits of {len(ids.split(','))} tokens: largest difference {diff:.2e} (must be <= 1e-4)")
    if ours["shape"] != peer["shape"] or diff > 1e-4:
        raise SystemExit("the peer does not compute the same logits: the comparison would not be of the same maths")
    gen = ["--batch", "1,8", "--prompt-len", "64", "--new-tokens", str(a.new_tokens), "--repeats", "2"]
    best = {}

    def keep(key, value, higher_is_better):
        old = best.get(key)
        if old is None or (value > old if higher_is_better else value < old):
            best[key] = value

    for r in range(a.rounds):
        for side, cmd in (("ours", java + ["bench", "generate", "--model", a.model, "--threads", threads] + gen),
                          ("peer", me + ["generate", "--model", a.model] + gen)):
            out, rss = run(cmd)
            for batch, (pre, dec) in generate_rows(out).items():
                keep((side, f"decode, batch {batch} (tok/s)"), dec, True)
                if batch == 8:
                    keep((side, "prefill, batch 8 x 64 (tok/s)"), pre, True)
            print(f"round {r + 1} generate {side}: {generate_rows(out)}", flush=True)
        for seq in (256, 512):
            train = ["--micro-batch", "4", "--seq-len", str(seq), "--steps", str(a.steps)]
            for side, cmd in (("ours", java + ["bench", "train", "--model", a.model, "--threads", threads] + train),
                              ("peer", me + ["train", "--model", a.model] + train)):
                out, rss = run(cmd)
                step, backward = train_step(out)
                keep((side, f"train step, 4 x {seq} (s)"), step, False)
                keep((side, f"  of which backward, 4 x {seq} (s)"), backward, False)
                keep((side, f"peak RSS, train 4 x {seq} (MiB)"), rss, False)
                print(f"round {r + 1} train 4x{seq} {side}: step {step:.2f} s, backward {backward:.2f} s, "
                      f"peak RSS {rss:.0f} MiB", flush=True)
    print()
    print("| phase | ours | PyTorch eager | ours vs peer (> 1: ours better) |")
    print("| --- | --- | --- | --- |")
    for phase in dict.fromkeys(k[1] for k in best):
        o, p = best[("ours", phase)], best[("peer", phase)]
        ratio = o / p if "tok/s" in phase else p / o  # rates: ours / peer; times and memory: peer / ours
        print(f"| {phase} | {o:.1f} | {p:.1f} | {ratio:.2f}x |")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("logits")
    s.add_argument("--model", required=True)
    s.add_argument("--ids", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("generate")
    s.add_argument("--model", required=True)
    s.add_argument("--batch", default="1,8")
    s.add_argument("--prompt-len", type=int, default=64)
    s.add_argument("--new-tokens", type=int, default=128)
    s.add_argument("--repeats", type=int, default=2)
    s.add_argument("--bf16", action="store_true")
    s = sub.add_parser("train")
    s.add_argument("--model", required=True)
    s.add_argument("--micro-batch", type=int, default=4)
    s.add_argument("--seq-len", type=int, default=256)
    s.add_argument("--steps", type=int, default=3)
    s = sub.add_parser("compare")
    s.add_argument("--model", required=True)
    s.add_argument("--jar", required=True)
    s.add_argument("--work", default=".")
    s.add_argument("--rounds", type=int, default=2)
    s.add_argument("--steps", type=int, default=2)
    s.add_argument("--new-tokens", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    {"logits": cmd_logits, "generate": cmd_generate, "train": cmd_train, "compare": cmd_compare}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
