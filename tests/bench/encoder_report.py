"""The encoder section of the benchmark report: acula (`acula bench-model`, burn's flex backend with our
kernels) against PyTorch on the CPU, same weights and input (tests/bench/model_bench.py's JSON).

As a module, `tests/bench/report.py` prints this table into BENCHMARKS.md; as a script it writes the
encoder-only report of `scripts/bench.sh encoder` (docs/bench/encoder.md), with the machine it ran on:

Usage: python tests/bench/encoder_report.py MODEL_JSON [PEAK_MEMORY_JSON]
"""
import json
import sys

import frontend_report


def ms(x):
    return f"{x:.2f} ms" if x < 100 else f"{x:.0f} ms"


def ratio_cell(r):
    cell = f"{r:.2f}"
    return f"**{cell}**" if r <= 1.0 else cell


def table(model):
    """The rows as markdown, one per case, with the check that both sides computed the same thing."""
    out = ["| encoder | pass | batch | threads | PyTorch | acula | ratio | check |",
           "|---|---|---|---|---|---|---|---|"]
    for r in model["rows"]:
        if r["mode"] == "forward":
            check = f"max \\|Δ\\| {r['max_abs_diff']:.1e}"
            what = "forward"
        else:
            check = f"loss \\|Δ\\| {r['first_loss_diff']:.1e}"
            what = "train step (fwd + bwd + AdamW)"
        out.append(f"| {r['encoder']} | {what} | {r['batch']} | {r['threads']} | {ms(r['torch']['median_ms'])} | "
                   f"{ms(r['acula']['median_ms'])} | {ratio_cell(r['ratio'])} | {check} |")
    return "\n".join(out)


def memory_table(mem):
    """Peak resident sets (kB, by process) as markdown."""
    out = ["| process | peak RSS |", "|---|---|"]
    for name, kb in mem.items():
        out.append(f"| {name} | {kb / 1048576:.2f} GB |" if kb > 1048576 else f"| {name} | {kb / 1024:.0f} MB |")
    return "\n".join(out)


def short_of_target(model):
    """The cases slower than PyTorch, as text."""
    slow = [r for r in model["rows"] if r["ratio"] > 1.0]
    if not slow:
        return "Every case is at least as fast as PyTorch."
    cases = ", ".join(f"{r['encoder']} {r['mode']} b{r['batch']} t{r['threads']} ({r['ratio']:.2f})" for r in slow)
    return f"Slower than PyTorch (target ≤ 1.0): {cases}."


def main():
    model = json.load(open(sys.argv[1]))
    print("# Encoder on the CPU: acula vs PyTorch (`scripts/bench.sh encoder`)\n")
    print(f"- Machine: {frontend_report.cpu()}, {model['threads_all']} cores; PyTorch {model['torch']}")
    print("- `acula bench-model` (burn flex with acula's kernels: attention, GELU, linear) against")
    print("  `tests/bench/torch_bench.py` (timm's blocks, fused scaled-dot-product attention), each case in its own")
    print("  process; ratio = acula / PyTorch (below 1: acula is faster). Median of the timed runs after one warm-up.\n")
    print(table(model) + "\n")
    print(short_of_target(model) + "\n")
    if len(sys.argv) > 2:
        mem = json.load(open(sys.argv[2]))
        print("## Peak memory (resident set, `/usr/bin/time`)\n")
        print(memory_table(mem) + "\n")


if __name__ == "__main__":
    main()
