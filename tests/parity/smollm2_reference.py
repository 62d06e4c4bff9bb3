"""NumPy reference for SmolLM2-135M-Instruct read from its GGUF (Q4_1 weights, Q8_0 embedding), for parity
with the Rust side.

Model file: SmolLM2-135M-Instruct.Q4_1.gguf in the folder `scripts/fetch-models.sh smollm2` prints.
Reading and dequantizing use the `gguf` package (GGUFReader, gguf.quants.dequantize); `dequant_q4_1` and
`dequant_q8_0` below redo the two block formats by hand and `--check` compares them with the package.

Architecture (general.architecture = llama, all numbers from the GGUF metadata): 30 blocks, d = 576,
9 query heads and 3 key/value heads of 64 (grouped-query attention: query head h reads kv head h // 3),
feed-forward 1536 with SwiGLU (down(silu(gate(x)) * up(x))), RMSNorm eps 1e-5 (x / sqrt(mean(x²) + eps) * w),
RoPE over all 64 dimensions with freq_base 100000, no biases anywhere, causal attention scaled by 1/8.
There is no output.weight: the LM head is tied to token_embd.weight (Q8_0).

RoPE and the Q/K permutation: llama.cpp's converter permutes the rows of attn_q/attn_k relative to the
Hugging Face checkpoint (per head: row 2i ← HF row i, row 2i+1 ← HF row i + 32), so with GGUF weights
RoPE rotates ADJACENT pairs (q[2i], q[2i+1]) by angle pos * base^(-2i/64) — llama.cpp's "normal" rope.
The HF formulation (rotate_half: pairs (i, i+32)) is only right after undoing that permutation.
`--check` shows both agree and that rotate_half on GGUF weights is wrong.

Tokenizer (tokenizer.ggml.model = gpt2, pre = smollm): byte-level BPE built here with the `tokenizers`
package from tokenizer.ggml.tokens (id = index) and tokenizer.ggml.merges ("a b" strings, rank = index).
Pre-tokenizer = llama.cpp's SMOLLM regexes: first every \\p{N} char alone, then GPT-2's
`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)`, which is
Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)]; no normalizer;
ByteLevel decoder. The 17 CONTROL tokens (token_type 3, ids 0–16: <|endoftext|>, <|im_start|>, <|im_end|>, …)
are added as special tokens so that they are matched whole in text (as llama.cpp does with parse_special).
add_bos_token is false: nothing is prepended (bos id 1 is <|im_start|>, which the chat template writes).

Chat template (tokenizer.chat_template, ChatML): "<|im_start|>system\\nYou are a helpful AI assistant named
SmolLM, trained by Hugging Face<|im_end|>\\n" when the first message is not a system one, then per message
"<|im_start|>{role}\\n{content}<|im_end|>\\n", then "<|im_start|>assistant\\n" for generation. Greedy
decoding stops at eos = 2 (<|im_end|>) or at <|endoftext|> (0).

Usage:
    python tests/parity/smollm2_reference.py GGUF generate "What is the capital of France?" [--max-new 40]
        [--raw] [--out OUT.json]
    python tests/parity/smollm2_reference.py GGUF embed INPUT OUT.npy [--pool final|raw] [--ids OUT.json]
    python tests/parity/smollm2_reference.py GGUF tokenize "text" …
    python tests/parity/smollm2_reference.py GGUF --check
generate: the prompt is wrapped in the chat template unless --raw; prints the text and writes
{"prompt", "prompt_ids", "ids", "text"} with --out.
embed: INPUT is one text per line or a JSON list; each text is tokenized as is (no template, no BOS) and
run alone; the embedding is the mean over its tokens of the last hidden states, either after the final
RMSNorm (output_norm; --pool final, the default — what HF LlamaModel's last_hidden_state and llama.cpp's
--pooling mean give) or before it (--pool raw: the residual stream after block 29). float32 (n, 576).
Everything is computed in float64 from the float32 dequantized weights.
"""
import argparse
import json
import math
import sys

import gguf
import numpy as np
from gguf import GGUFReader, GGUFValueType
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from tokenizers import AddedToken

QK = 32  # weights per block for Q4_1 and Q8_0


def dequant_q4_1(raw: np.ndarray) -> np.ndarray:
    """Q4_1 block = 20 bytes for 32 weights: d (f16 LE), m (f16 LE), qs[16]; weight j = d * (qs[j] & 15) + m,
    weight j + 16 = d * (qs[j] >> 4) + m (low nibbles are the first half of the block). raw: uint8 (rows, bytes)."""
    b = raw.reshape(-1, 20)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    m = b[:, 2:4].copy().view(np.float16).astype(np.float32)
    qs = b[:, 4:20]
    q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float32)
    return (d * q + m).reshape(raw.shape[0], -1)


def dequant_q8_0(raw: np.ndarray) -> np.ndarray:
    """Q8_0 block = 34 bytes for 32 weights: d (f16 LE), qs[32] (int8); weight j = d * qs[j]."""
    b = raw.reshape(-1, 34)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = b[:, 2:34].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(raw.shape[0], -1)


def field(r, key):
    f = r.fields[key]
    if f.types[0] == GGUFValueType.ARRAY:
        if f.types[1] == GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i].tolist()[0] for i in f.data]
    if f.types[0] == GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]].tolist()[0]


def build_tokenizer(r) -> Tokenizer:
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = [tuple(s.split(" ", 1)) for s in field(r, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3])
    return tok


def chat_prompt(user: str, system: str | None = None) -> str:
    sys_msg = system if system is not None else "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    return (f"<|im_start|>system\n{sys_msg}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


class SmolLM2:
    def __init__(self, path: str, rope: str = "normal", own_dequant: bool = False):
        r = GGUFReader(path)
        self.r = r
        arch = field(r, "general.architecture")
        if arch != "llama":
            sys.exit(f"error: {path}: architecture {arch!r}, expected 'llama'")
        self.n_layer = field(r, "llama.block_count")
        self.d = field(r, "llama.embedding_length")
        self.n_head = field(r, "llama.attention.head_count")
        self.n_kv = field(r, "llama.attention.head_count_kv")
        self.hd = self.d // self.n_head
        self.eps = float(np.float32(field(r, "llama.attention.layer_norm_rms_epsilon")))
        self.base = float(field(r, "llama.rope.freq_base"))
        self.eos = field(r, "tokenizer.ggml.eos_token_id")
        self.rope = rope
        self.w = {}
        for t in r.tensors:
            tt = t.tensor_type
            if tt == gguf.GGMLQuantizationType.F32:
                a = np.asarray(t.data, np.float32).reshape(list(reversed([int(x) for x in t.shape])))
            elif own_dequant and tt == gguf.GGMLQuantizationType.Q4_1:
                a = dequant_q4_1(np.asarray(t.data))
            elif own_dequant and tt == gguf.GGMLQuantizationType.Q8_0:
                a = dequant_q8_0(np.asarray(t.data))
            else:
                a = gguf.quants.dequantize(t.data, tt)
            self.w[t.name] = a.astype(np.float64)
        self.lm_head = self.w.get("output.weight", self.w["token_embd.weight"])
        self.tok = build_tokenizer(r)
        half = self.hd // 2
        self.inv_freq = self.base ** (-np.arange(half, dtype=np.float64) * 2 / self.hd)

    def unpermute_qk(self):
        """Undo llama.cpp's Q/K row permutation (back to the HF layout)."""
        for i in range(self.n_layer):
            for name, nh in (("attn_q", self.n_head), ("attn_k", self.n_kv)):
                w = self.w[f"blk.{i}.{name}.weight"]
                self.w[f"blk.{i}.{name}.weight"] = (
                    w.reshape(nh, self.hd // 2, 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)
                )

    def _rms(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def _rope(self, x, pos):
        """x: (t, heads, hd); pos: (t,)."""
        ang = pos[:, None].astype(np.float64) * self.inv_freq[None]  # (t, hd/2)
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        if self.rope == "normal":  # adjacent pairs — right for GGUF-permuted weights
            x0, x1 = x[..., 0::2], x[..., 1::2]
            out = np.empty_like(x)
            out[..., 0::2] = x0 * c - x1 * s
            out[..., 1::2] = x0 * s + x1 * c
            return out
        h = self.hd // 2  # "neox" / HF rotate_half — right only for HF-layout weights
        x0, x1 = x[..., :h], x[..., h:]
        return np.concatenate([x0 * c - x1 * s, x0 * s + x1 * c], -1)

    def forward(self, ids, cache=None, pos0=0):
        """ids: list of new token ids; cache: list of (k, v) per layer, extended in place.
        Returns (hidden before final norm, hidden after final norm), each (t, d)."""
        w = self.w
        t = len(ids)
        x = w["token_embd.weight"][np.asarray(ids)]
        pos = np.arange(pos0, pos0 + t)
        group = self.n_head // self.n_kv
        for i in range(self.n_layer):
            p = f"blk.{i}."
            h = self._rms(x, w[p + "attn_norm.weight"])
            q = (h @ w[p + "attn_q.weight"].T).reshape(t, self.n_head, self.hd)
            k = (h @ w[p + "attn_k.weight"].T).reshape(t, self.n_kv, self.hd)
            v = (h @ w[p + "attn_v.weight"].T).reshape(t, self.n_kv, self.hd)
            q, k = self._rope(q, pos), self._rope(k, pos)
            if cache is not None:
                if len(cache) <= i:
                    cache.append((k, v))
                else:
                    k = np.concatenate([cache[i][0], k], 0)
                    v = np.concatenate([cache[i][1], v], 0)
                    cache[i] = (k, v)
            T = k.shape[0]
            kk = np.repeat(k, group, axis=1)  # kv head j serves query heads j*group … j*group+group-1
            vv = np.repeat(v, group, axis=1)
            s = np.einsum("thd,Thd->htT", q, kk) / math.sqrt(self.hd)
            qpos = pos[:, None]
            kpos = np.arange(T)[None, :]
            s = np.where(kpos <= qpos, s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = np.einsum("htT,Thd->thd", s, vv).reshape(t, self.d)
            x = x + a @ w[p + "attn_output.weight"].T
            h = self._rms(x, w[p + "ffn_norm.weight"])
            g = h @ w[p + "ffn_gate.weight"].T
            u = h @ w[p + "ffn_up.weight"].T
            x = x + (g / (1.0 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
        return x, self._rms(x, w["output_norm.weight"])

    def logits(self, hidden_normed):
        return hidden_normed @ self.lm_head.T

    def encode(self, text):
        return self.tok.encode(text, add_special_tokens=False).ids

    def generate(self, prompt_ids, max_new=40):
        cache = []
        _, hn = self.forward(prompt_ids, cache, 0)
        out = []
        nxt = int(np.argmax(self.logits(hn[-1])))
        while nxt not in (self.eos, 0) and len(out) < max_new:
            out.append(nxt)
            _, hn = self.forward([nxt], cache, len(prompt_ids) + len(out) - 1)
            nxt = int(np.argmax(self.logits(hn[-1])))
        return out

    def embed(self, text, pool="final"):
        ids = self.encode(text)
        if not ids:
            raise ValueError("empty text")
        raw, fin = self.forward(ids)
        return (fin if pool == "final" else raw).mean(0), ids


def read_texts(path):
    if path.endswith(".json"):
        with open(path) as f:
            texts = json.load(f)
        if not isinstance(texts, list) or not all(isinstance(s, str) for s in texts):
            sys.exit(f"error: {path} must hold a JSON list of strings")
        return texts
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def check(path):
    ok = True
    r = GGUFReader(path)
    for t in r.tensors:
        if t.tensor_type in (gguf.GGMLQuantizationType.Q4_1, gguf.GGMLQuantizationType.Q8_0):
            own = (dequant_q4_1 if t.tensor_type == gguf.GGMLQuantizationType.Q4_1 else dequant_q8_0)(np.asarray(t.data))
            ref = gguf.quants.dequantize(t.data, t.tensor_type)
            if own.shape != ref.shape or not np.array_equal(own, ref):
                print(f"dequantization differs for {t.name}")
                ok = False
    print("own Q4_1/Q8_0 dequantization == gguf.quants.dequantize:", ok)
    m = SmolLM2(path)
    tok_cases = {
        "Hello world": None,
        "The year 2024 has 366 days.": None,
    }
    for s in tok_cases:
        ids = m.encode(s)
        print(f"tokens {s!r}: {ids} → {[m.tok.id_to_token(i) for i in ids]}")
    digits = m.encode("2024")
    ok &= len(digits) == 4  # each digit alone (SMOLLM pre-tokenizer)
    prompt = chat_prompt("What is the capital of France?")
    pids = m.encode(prompt)
    ok &= pids[0] == 1 and pids.count(1) == 3 and pids.count(2) == 2
    print(f"prompt ids ({len(pids)}): {pids}")
    gen = m.generate(pids, 20)
    text = m.tok.decode(gen)
    print(f"greedy (normal rope): {text!r}")
    ok &= "Paris" in text
    # The same with rotate_half on the permuted GGUF weights (wrong) and on un-permuted weights (right).
    cache = []
    _, good = m.forward(pids, cache)
    m.rope = "neox"
    _, bad = m.forward(pids, [])
    m.unpermute_qk()
    _, hf = m.forward(pids, [])
    d_bad = float(np.abs(good - bad).max())
    d_hf = float(np.abs(good - hf).max())
    print(f"max |Δ| final hidden: rotate_half on GGUF weights {d_bad:.3g} (wrong), "
          f"rotate_half on un-permuted weights {d_hf:.3g} (same model)")
    ok &= d_hf < 1e-8 and d_bad > 1e-2
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("cmd", nargs="?", choices=["generate", "embed", "tokenize"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-new", type=int, default=40)
    ap.add_argument("--raw", action="store_true", help="generate: use the prompt as is, without the chat template")
    ap.add_argument("--pool", choices=["final", "raw"], default="final")
    ap.add_argument("--ids", help="embed: write the token ids as JSON here")
    ap.add_argument("--out", help="generate: write prompt/ids/text as JSON here")
    a = ap.parse_args()
    if a.check:
        sys.exit(check(a.gguf))
    if a.cmd is None:
        ap.error("a command (generate, embed, tokenize) or --check is needed")
    m = SmolLM2(a.gguf)
    if a.cmd == "tokenize":
        for s in a.args:
            print(json.dumps({"text": s, "ids": m.encode(s)}))
    elif a.cmd == "generate":
        if len(a.args) != 1:
            ap.error("generate takes one prompt")
        prompt = a.args[0] if a.raw else chat_prompt(a.args[0])
        pids = m.encode(prompt)
        ids = m.generate(pids, a.max_new)
        text = m.tok.decode(ids)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                json.dump({"prompt": prompt, "prompt_ids": pids, "ids": ids, "text": text}, f)
    else:
        if len(a.args) != 2:
            ap.error("embed takes INPUT and OUT.npy")
        texts = read_texts(a.args[0])
        if not texts:
            sys.exit(f"error: no texts in {a.args[0]}")
        res = [m.embed(t, a.pool) for t in texts]
        np.save(a.args[1], np.stack([e for e, _ in res]).astype(np.float32))
        if a.ids:
            with open(a.ids, "w") as f:
                json.dump([{"text": t, "ids": i} for t, (_, i) in zip(texts, res)], f)


if __name__ == "__main__":
    main()
