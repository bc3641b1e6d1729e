#!/usr/bin/env python3
"""Check that transformers reads a checkpoint folder written by arf's CLIPModel.save.

Usage:
    python3 scripts/check-saved-checkpoint.py SAVED [--reference FOLDER] [--tolerance T]

SAVED is a folder holding config.json and model.safetensors as CLIPModel.save writes them.
REFERENCE (default Tests/Fixtures/clip-tiny) is the checkpoint SAVED was loaded from and saved
again unchanged. The script loads both with transformers' CLIPModel and fails (exit status 1)
unless: loading SAVED reports no missing, unexpected or misshapen keys; every config field
matches; every weight is identical; and image and text embeddings and logits for the same
seeded pixels and token ids agree within T (default 1e-6, absolute).

Needs torch, transformers and safetensors; arf itself never does.
"""
import argparse
import json
import sys
from pathlib import Path

import torch
from transformers import CLIPModel

IGNORED_CONFIG_KEYS = {"transformers_version", "_name_or_path", "_commit_hash"}


def load(folder):
    model, info = CLIPModel.from_pretrained(folder, output_loading_info=True)
    return model.eval(), info


def inputs(model, reference, seed=0):
    """Seeded pixels, and token ids from the reference's cases.json or seeded ones."""
    generator = torch.Generator().manual_seed(seed)
    vision = model.config.vision_config
    pixels = torch.randn(
        4, vision.num_channels, vision.image_size, vision.image_size, generator=generator)
    cases = Path(reference) / "cases.json"
    if cases.exists():
        ids = torch.tensor(json.loads(cases.read_text())["input_ids"])[:4]
    else:
        text = model.config.text_config
        ids = torch.randint(1, text.vocab_size - 1, (4, 16), generator=generator)
        ids[:, -1] = text.eos_token_id
    return pixels, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("saved")
    parser.add_argument("--reference", default="Tests/Fixtures/clip-tiny")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    failures = []

    saved, info = load(args.saved)
    reference, _ = load(args.reference)
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(kind):
            failures.append(f"{kind}: {sorted(map(str, info[kind]))}")

    saved_config, reference_config = saved.config.to_dict(), reference.config.to_dict()
    for key in sorted(set(saved_config) | set(reference_config)):
        if key in IGNORED_CONFIG_KEYS:
            continue
        if saved_config.get(key) != reference_config.get(key):
            failures.append(
                f"config {key}: {saved_config.get(key)!r} != {reference_config.get(key)!r}")

    saved_weights, reference_weights = saved.state_dict(), reference.state_dict()
    differing = [
        name for name, tensor in reference_weights.items()
        if name not in saved_weights or not torch.equal(saved_weights[name], tensor)
    ]
    if differing:
        failures.append(f"{len(differing)} weights differ, first {differing[0]}")

    pixels, ids = inputs(reference, args.reference)
    with torch.no_grad():
        a = saved(input_ids=ids, pixel_values=pixels)
        b = reference(input_ids=ids, pixel_values=pixels)
    for name in ("image_embeds", "text_embeds", "logits_per_image"):
        difference = (getattr(a, name) - getattr(b, name)).abs().max().item()
        print(f"{name}: largest difference {difference:.3g}")
        if not difference <= args.tolerance:
            failures.append(f"{name}: largest difference {difference} > {args.tolerance}")

    print(f"{len(saved_weights)} weights, {len(saved_config)} config fields checked")
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        sys.exit(1)
    print(f"OK: transformers reads {args.saved} as it reads {args.reference}")


if __name__ == "__main__":
    main()
