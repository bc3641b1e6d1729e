#!/usr/bin/env python3
"""The PyTorch side of `arf-bench engine`: times transformers' CLIPModel on the same
architecture, batch and thread count that arf-bench times, in its own process, and prints
one JSON object. arf-bench passes the architecture as the config.json it uses itself, so the
two sides cannot drift apart. Weights are random; nothing is downloaded.

  python3 bench/torch_reference.py --config-json '{...}' --batch 32 --threads 2

Reported: image and text forward rates (no grad), a full contrastive train step with
fused AdamW (pairs/s), and the process's peak resident memory.
"""
import argparse
import json
import resource
import statistics
import time

import torch
from transformers import CLIPConfig, CLIPModel


def median_seconds(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-json", required=True, help="a CLIPModel config.json, inline")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--phases", default="image,text,train")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = CLIPConfig.from_dict(json.loads(args.config_json))
    model = CLIPModel(config).float()
    side = config.vision_config.image_size
    context = config.text_config.max_position_embeddings
    vocab = config.text_config.vocab_size
    pixels = torch.randn(args.batch, 3, side, side)
    # Random tokens with end-of-text last, so every text uses the whole context.
    ids = torch.randint(0, vocab - 2, (args.batch, context))
    ids[:, 0] = vocab - 2
    ids[:, -1] = vocab - 1
    phases = set(args.phases.split(","))
    result = {"engine": "pytorch " + torch.__version__, "batch": args.batch,
              "threads": args.threads}

    model.eval()
    with torch.no_grad():
        if "image" in phases:
            seconds = median_seconds(lambda: model.get_image_features(pixel_values=pixels),
                                     args.warmup, args.reps)
            result["image_forward_per_s"] = args.batch / seconds
        if "text" in phases:
            seconds = median_seconds(lambda: model.get_text_features(input_ids=ids),
                                     args.warmup, args.reps)
            result["text_forward_per_s"] = args.batch / seconds

    if "train" in phases:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1, fused=True)
        labels = torch.arange(args.batch)

        def step():
            logits = model(input_ids=ids, pixel_values=pixels).logits_per_image
            loss = (torch.nn.functional.cross_entropy(logits, labels)
                    + torch.nn.functional.cross_entropy(logits.t(), labels)) / 2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        result["train_step_pairs_per_s"] = args.batch / median_seconds(step, args.warmup, args.reps)

    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
