"""NumPy reference forward pass of all-MiniLM-L6-v2 (sentence-transformers), for parity with the Rust side.

Model folder: what `scripts/fetch-models.sh minilm` prints (model.safetensors, tokenizer.json, config.json).
Weights are read with `safetensors.numpy`, text is tokenized with the `tokenizers` package from
tokenizer.json; everything else is NumPy, computed in float64.

The model (BertModel, config.json): word + position + token-type(0) embeddings → LayerNorm(eps 1e-12)
→ 6 post-LN encoder layers [self-attention, 12 heads × 32, additive mask on padded keys → dense →
residual → LayerNorm; dense 384→1536 → GELU (erf form) → dense 1536→384 → residual → LayerNorm]
→ mean of the last hidden states over tokens whose attention mask is 1 ([CLS] and [SEP] included).
The pooler (pooler.dense.*) is NOT used. sentence-transformers then L2-normalises (modules.json has a
2_Normalize module); here that happens only with --normalize.

Tokenization (tokenizer.json): BertNormalizer (clean text, Chinese chars spaced, lowercase; strip_accents
is null, which means "follow lowercase", so accents ARE stripped: "café Naïve" → cafe naive),
BertPreTokenizer, WordPiece (## prefix,
[UNK]=100), template [CLS]=101 … [SEP]=102, type ids 0. tokenizer.json asks for truncation to 128
tokens (LongestFirst, [CLS]/[SEP] included) and Fixed(128) padding with [PAD]=0. This script keeps
the truncation (--max-len, default 128 as tokenizer.json says) but turns the padding off and pads
each batch itself with an attention mask. Note: sentence-transformers itself truncates at 256
(sentence_bert_config.json max_seq_length), so for texts over 128 word pieces the published model
differs from the tokenizer.json behaviour; pass --max-len 256 to match sentence-transformers.

Usage:
    python tests/parity/minilm_reference.py MODEL_DIR INPUT OUT.npy [--ids OUT.json] [--normalize]
        [--max-len N] [--batch N]
    python tests/parity/minilm_reference.py MODEL_DIR --check
INPUT is a text file with one sentence per line (empty lines skipped) or a .json file holding a list
of strings. OUT.npy gets float32 (n, 384). --ids writes [{"text", "ids", "type_ids"}] per sentence
(unpadded, after truncation, special tokens included).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

_erf = np.vectorize(math.erf, otypes=[np.float64])


class MiniLM:
    def __init__(self, model_dir: str, max_len: int = 128):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        w = load_file(os.path.join(model_dir, "model.safetensors"))
        self.w = {k: v.astype(np.float64) for k, v in w.items() if v.dtype != np.int64}
        self.eps = float(self.cfg["layer_norm_eps"])
        self.heads = int(self.cfg["num_attention_heads"])
        self.layers = int(self.cfg["num_hidden_layers"])
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_len)

    def tokenize(self, texts):
        return [(e.ids, e.type_ids) for e in self.tok.encode_batch(list(texts))]

    def _ln(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _lin(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def hidden(self, ids: np.ndarray, type_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, type_ids, mask: (b, t) → last hidden states (b, t, 384)."""
        w = self.w
        b, t = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
            + w["embeddings.token_type_embeddings.weight"][type_ids]
        )
        x = self._ln(x, "embeddings.LayerNorm")
        d = x.shape[-1]
        hd = d // self.heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e30)  # (b, 1, 1, t) over keys
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q = self._lin(x, p + "attention.self.query").reshape(b, t, self.heads, hd).transpose(0, 2, 1, 3)
            k = self._lin(x, p + "attention.self.key").reshape(b, t, self.heads, hd).transpose(0, 2, 1, 3)
            v = self._lin(x, p + "attention.self.value").reshape(b, t, self.heads, hd).transpose(0, 2, 1, 3)
            s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
            x = self._ln(self._lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._lin(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = self._ln(self._lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def embed(self, texts, normalize=False, batch=32):
        out = []
        toks = self.tokenize(texts)
        for s in range(0, len(toks), batch):
            chunk = toks[s : s + batch]
            t = max(len(i) for i, _ in chunk)
            ids = np.zeros((len(chunk), t), np.int64)
            tt = np.zeros((len(chunk), t), np.int64)
            mask = np.zeros((len(chunk), t), np.float64)
            for r, (i, ty) in enumerate(chunk):
                ids[r, : len(i)] = i
                tt[r, : len(ty)] = ty
                mask[r, : len(i)] = 1.0
            h = self.hidden(ids, tt, mask)
            e = (h * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            if normalize:
                e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            out.append(e)
        return np.concatenate(out, 0), toks


def read_texts(path):
    if path.endswith(".json"):
        with open(path) as f:
            texts = json.load(f)
        if not isinstance(texts, list) or not all(isinstance(s, str) for s in texts):
            sys.exit(f"error: {path} must hold a JSON list of strings")
        return texts
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# sentence-transformers' documented semantic-search example with all-MiniLM-L6-v2 (docs, "Semantic
# Search"): query "A man is eating pasta." against this corpus gives these cosine scores (4 decimals).
PUBLISHED_QUERY = "A man is eating pasta."
PUBLISHED = [
    ("A man is eating food.", 0.7035),
    ("A man is eating a piece of bread.", 0.5272),
    ("A man is riding a horse.", 0.1889),
    ("A man is riding a white horse on an enclosed ground.", 0.1047),
    ("A cheetah is running behind its prey.", 0.0980),
]


def check(model_dir):
    """Published-behaviour checks: the documented semantic-search scores, paraphrases high, unrelated
    sentences low, batching/padding does not change an embedding, the tokenization of a known sentence."""
    m = MiniLM(model_dir)
    pe = m.embed([PUBLISHED_QUERY] + [t for t, _ in PUBLISHED], normalize=True)[0]
    scores = (pe[1:] @ pe[0]).tolist()
    pub_err = max(abs(s - want) for s, (_, want) in zip(scores, PUBLISHED))
    print("published scores:", " ".join(f"{s:.4f}/{w:.4f}" for s, (_, w) in zip(scores, PUBLISHED)))
    texts = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
        "A man is riding a horse.",
        "A monkey is playing drums.",
        "Someone in a gorilla costume is playing a set of drums.",
    ]
    e, toks = m.embed(texts)
    single = np.stack([m.embed([t])[0][0] for t in texts])
    pad_err = float(np.abs(e - single).max())
    food = cos(e[0], e[1])
    drums = cos(e[4], e[5])
    unrelated = cos(e[0], e[4])
    print(f"tokens of {texts[0]!r}: {toks[0][0]}")
    print(f"cos(food, bread) = {food:.4f}  cos(monkey drums, gorilla drums) = {drums:.4f}  "
          f"cos(food, drums) = {unrelated:.4f}  max |batched - single| = {pad_err:.2e}")
    ok = (
        toks[0][0] == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
        and food > 0.7
        and drums > 0.6
        and unrelated < 0.2
        and pad_err < 1e-9
        and pub_err < 1e-4
    )
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("input", nargs="?")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--ids", help="write the token ids as JSON here")
    ap.add_argument("--normalize", action="store_true", help="L2-normalise (as sentence-transformers does)")
    ap.add_argument("--max-len", type=int, default=128, help="truncation in tokens, [CLS]/[SEP] included")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--check", action="store_true", help="run the self-checks and exit")
    a = ap.parse_args()
    if a.check:
        sys.exit(check(a.model_dir))
    if not a.input or not a.out:
        ap.error("INPUT and OUT.npy are needed (or --check)")
    texts = read_texts(a.input)
    if not texts:
        sys.exit(f"error: no sentences in {a.input}")
    m = MiniLM(a.model_dir, a.max_len)
    e, toks = m.embed(texts, a.normalize, a.batch)
    np.save(a.out, e.astype(np.float32))
    if a.ids:
        with open(a.ids, "w") as f:
            json.dump([{"text": t, "ids": i, "type_ids": ty} for t, (i, ty) in zip(texts, toks)], f)


if __name__ == "__main__":
    main()
