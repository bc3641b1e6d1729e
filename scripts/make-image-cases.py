#!/usr/bin/env python3
"""Makes the small image fixtures that ArfImageTests compare against, using Pillow and
transformers' CLIPImageProcessor (PIL backend) as the reference.

Writes, under Tests/Fixtures (or the folder given as the first argument):
  image-cases/       resize cases (sources and PIL outputs, every filter), PNG variants
                     written byte by byte (palette, grey 1/2/4/8/16-bit, alpha, tRNS,
                     16-bit, Adam7 interlacing, every row filter) and JPEG variants
                     (subsamplings, progressive, grey, CMYK), with the RGB PIL decodes.
  clip-preprocess/   a fixture folder in the layout of clip-tiny: odd-sized images of
                     every kind, a preprocessor_config.json whose crop is larger than the
                     resized short edge (so transformers pads), expected pixel_values.
  clip-bilinear/     the same with `size` and `crop_size` given as plain integers and
                     resample 2 (bilinear).

Needs numpy, Pillow, safetensors and transformers. The reference is CLIPImageProcessorPil,
transformers' PIL backend, named explicitly: with torchvision installed, CLIPImageProcessor
would pick the torchvision backend, whose resize rounds differently. Deterministic: running
it twice gives the same bytes.
"""
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

# Pillow warns about palette transparency given as bytes; such files are the point here.
warnings.filterwarnings("ignore", message="Palette images with Transparency")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")


def save(path, tensors):
    save_file(tensors, path)
    os.chmod(path, 0o644)  # safetensors creates files readable by their owner only


# --- a PNG writer that can produce what Pillow cannot save --------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, body):
    data = kind + body
    return struct.pack(">I", len(body)) + data + struct.pack(">I", zlib.crc32(data))


def pack_row(samples, depth):
    """Packs one row of samples (already flattened over channels) at the given depth."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.uint8)
    padded[:len(samples)] = samples
    out = np.zeros(len(padded) // per_byte, dtype=np.uint8)
    for i in range(per_byte):
        out |= padded[i::per_byte] << (8 - depth * (i + 1))
    return out.tobytes()


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp, first_filter):
    """Filters each row with a different filter type so that the decoder meets all five."""
    out = bytearray()
    prev = bytes(len(rows[0]))
    for i, row in enumerate(rows):
        kind = (first_filter + i) % 5
        filtered = bytearray(len(row))
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            filtered[x] = (row[x] - predictor) & 0xFF
        out.append(kind)
        out += filtered
        prev = row
    return bytes(out)


def write_png(path, pixels, depth, color_type, palette=None, trns=None, interlace=False):
    """pixels: (H, W) or (H, W, C) array of samples (palette indices for colour type 3)."""
    pixels = pixels if pixels.ndim == 3 else pixels[:, :, None]
    height, width, channels = pixels.shape
    assert channels == CHANNELS[color_type]
    bpp = max(1, channels * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for n, (x0, y0, dx, dy) in enumerate(passes):
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(r.reshape(-1), depth) for r in sub]
        raw += filter_rows(rows, bpp, n)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0,
                                      1 if interlace else 0))
    if palette is not None:
        body += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        body += chunk(b"tRNS", trns)
    body += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body)


# --- synthetic pictures ------------------------------------------------------------------

def picture(width, height, seed):
    """Smooth gradients, a hard-edged disc and some noise: every resize filter overshoots
    at the disc's edge, so clipping is exercised too."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * x / max(width - 1, 1)
    g = 255 * y / max(height - 1, 1)
    b = 127 + 127 * np.sin((x + 2 * y) / 3.0)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (min(width, height) * 0.3) ** 2
    rgb = np.stack([r, g, b], -1)
    rgb[disc] = [255, 255, 0] if seed % 2 else [0, 0, 30]
    rgb += rng.normal(0, 12, rgb.shape)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


# --- resize cases ------------------------------------------------------------------------

FILTERS = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
           "bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX,
           "hamming": Image.Resampling.HAMMING}

RESIZE_SOURCES = [(37, 23), (5, 61), (48, 36), (3, 350), (1, 1), (20, 20)]
RESIZE_CASES = [
    # (source, width, height, filters)
    (0, 16, 10, ["bicubic", "bilinear", "lanczos", "box", "hamming"]),  # down, non-integer
    (0, 45, 29, ["bicubic"]),  # up
    (0, 12, 40, ["bicubic"]),  # down in x, up in y
    (0, 37, 9, ["bicubic"]),  # vertical pass only
    (0, 11, 23, ["bicubic"]),  # horizontal pass only
    (0, 37, 23, ["bicubic"]),  # same size: a copy
    (0, 1, 1, ["bicubic", "bilinear"]),
    (1, 2, 13, ["bicubic"]),
    (1, 9, 120, ["bicubic"]),
    (2, 7, 5, ["bicubic", "lanczos"]),  # large factor, wide support
    (2, 25, 19, ["bicubic", "bilinear", "box"]),  # about one half
    (2, 24, 18, ["bicubic"]),  # exactly one half
    # Pillow 13 runs the vertical pass first when the height loses more than twice as many
    # pixels as the width; these sit on both sides of that boundary.
    (2, 44, 28, ["bicubic"]),  # 8 rows lost, 4 columns: horizontal first
    (2, 44, 27, ["bicubic", "lanczos"]),  # 9 rows lost: vertical first
    (0, 40, 11, ["bicubic"]),  # wider, shorter: vertical first
    (3, 2, 40, ["bicubic", "bilinear"]),
    (3, 3, 100, ["bicubic"]),
    (4, 5, 3, ["bicubic", "lanczos"]),  # one pixel up
    (5, 41, 29, ["bicubic"]),  # upscale by about two
]


# PyTorch's antialiased uint8 interpolate, which transformers' torchvision backend runs.
TORCH_RESIZE_CASES = [
    (0, 16, 10, ["bicubic", "bilinear"]),
    (0, 41, 26, ["bicubic", "bilinear"]),
    (0, 12, 40, ["bicubic"]),
    (0, 37, 9, ["bicubic"]),
    (2, 44, 27, ["bicubic"]),  # Pillow would run the vertical pass first here; torch does not
    (2, 7, 5, ["bicubic"]),
    (3, 2, 40, ["bicubic"]),
]


def torch_resize(array, width, height, name):
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()
    out = F.interpolate(tensor, size=(height, width), mode=name, antialias=True)
    return out[0].permute(1, 2, 0).contiguous().numpy()


def make_resize_cases(out, tensors, manifest):
    sources = [picture(w, h, i) for i, (w, h) in enumerate(RESIZE_SOURCES)]
    for i, src in enumerate(sources):
        tensors[f"resize.source.{i}"] = src
    cases = []
    for source, width, height, filters in RESIZE_CASES:
        for name in filters:
            im = Image.fromarray(sources[source], "RGB")
            result = np.array(im.resize((width, height), FILTERS[name]))
            key = f"resize.{source}.{width}x{height}.{name}"
            tensors[key] = result
            cases.append({"source": f"resize.source.{source}", "width": width,
                          "height": height, "filter": name, "expected": key})
    manifest["resize"] = cases
    cases = []
    for source, width, height, filters in TORCH_RESIZE_CASES:
        for name in filters:
            key = f"torch-resize.{source}.{width}x{height}.{name}"
            tensors[key] = torch_resize(sources[source], width, height, name)
            cases.append({"source": f"resize.source.{source}", "width": width,
                          "height": height, "filter": name, "expected": key})
    manifest["torch_resize"] = cases


# --- PNG and JPEG variants ---------------------------------------------------------------

def make_png_variants(folder, tensors, manifest):
    from transformers.image_transforms import convert_to_rgb

    rng = np.random.RandomState(7)
    w, h = 13, 11
    rgb = picture(w, h, 3)
    alpha = rng.randint(0, 256, (h, w)).astype(np.uint8)
    alpha[0, :4] = [0, 255, 1, 254]
    grey = rgb[..., 1]
    wide = lambda a: a.astype(np.uint16) * 257 + rng.randint(0, 257, a.shape).astype(np.uint16)
    palette = rng.randint(0, 256, (200, 3)).astype(np.uint8)
    indices = rng.randint(0, 200, (h, w)).astype(np.uint8)
    small_palette = palette[:16]
    small_indices = indices % 16
    grey16 = rng.randint(0, 600, (h, w)).astype(np.uint16)  # PIL clips values above 255
    grey16[0, :4] = [0, 255, 256, 65535]

    def key16(*values):
        return struct.pack(">" + "H" * len(values), *values)

    variants = {
        "rgb8": dict(pixels=rgb, depth=8, color_type=2),
        "rgb8-interlaced": dict(pixels=rgb, depth=8, color_type=2, interlace=True),
        "rgba8": dict(pixels=np.dstack([rgb, alpha]), depth=8, color_type=6),
        "grey8": dict(pixels=grey, depth=8, color_type=0),
        "grey1": dict(pixels=grey >> 7, depth=1, color_type=0),
        "grey2-interlaced": dict(pixels=grey >> 6, depth=2, color_type=0, interlace=True),
        "grey4": dict(pixels=grey >> 4, depth=4, color_type=0),
        "grey-alpha8": dict(pixels=np.dstack([grey, alpha]), depth=8, color_type=4),
        "palette8": dict(pixels=indices, depth=8, color_type=3, palette=palette),
        "palette4-trns": dict(pixels=small_indices, depth=4, color_type=3,
                              palette=small_palette, trns=bytes([0, 128, 255, 7, 200])),
        "palette1-interlaced": dict(pixels=indices & 1, depth=1, color_type=3,
                                    palette=palette[:2], interlace=True),
        "rgb16": dict(pixels=wide(rgb), depth=16, color_type=2),
        "rgba16-interlaced": dict(pixels=np.dstack([wide(rgb), wide(alpha)]), depth=16,
                                  color_type=6, interlace=True),
        "grey16": dict(pixels=grey16, depth=16, color_type=0),
        "grey-alpha16": dict(pixels=np.dstack([wide(grey), wide(alpha)]), depth=16,
                             color_type=4),
        "grey8-trns": dict(pixels=grey, depth=8, color_type=0, trns=key16(int(grey[1, 1]))),
        "grey1-trns": dict(pixels=grey >> 7, depth=1, color_type=0, trns=key16(1)),
        # PIL compares the raw key with the scaled samples: nothing becomes transparent
        "grey4-trns": dict(pixels=grey >> 4, depth=4, color_type=0,
                           trns=key16(int(grey[2, 2] >> 4))),
        "grey16-trns": dict(pixels=grey16, depth=16, color_type=0, trns=key16(255)),
        "rgb8-trns": dict(pixels=rgb, depth=8, color_type=2,
                          trns=key16(*[int(v) for v in rgb[3, 4]])),
        # PIL compares the 16-bit key with the 8-bit samples it keeps
        "rgb16-trns": dict(pixels=wide(rgb), depth=16, color_type=2,
                           trns=key16(*[int(v) for v in rgb[3, 4]])),
    }
    os.makedirs(os.path.join(folder, "png"), exist_ok=True)
    names = []
    for name, spec in variants.items():
        path = os.path.join(folder, "png", name + ".png")
        write_png(path, **spec)
        im = Image.open(path)
        tensors[f"png.{name}.rgb"] = np.array(im.convert("RGB"))
        tensors[f"png.{name}.over_white"] = convert_to_rgb(Image.open(path), return_numpy=True)
        names.append(name)
    manifest["png"] = names


def make_jpeg_variants(folder, tensors, manifest):
    os.makedirs(os.path.join(folder, "jpeg"), exist_ok=True)
    rgb = Image.fromarray(picture(23, 13, 5), "RGB")
    variants = {
        "rgb-420": (rgb, dict(quality=90, subsampling="4:2:0")),
        "rgb-422": (rgb, dict(quality=80, subsampling="4:2:2")),
        "rgb-444": (rgb, dict(quality=95, subsampling="4:4:4")),
        "rgb-progressive": (rgb, dict(quality=85, progressive=True)),
        "rgb-restarts": (rgb, dict(quality=75, restart_marker_blocks=1)),
        "grey": (rgb.convert("L"), dict(quality=90)),
        "cmyk": (rgb.convert("CMYK"), dict(quality=90)),
    }
    names = []
    for name, (im, options) in variants.items():
        path = os.path.join(folder, "jpeg", name + ".jpg")
        im.save(path, "JPEG", **options)
        tensors[f"jpeg.{name}.rgb"] = np.array(Image.open(path).convert("RGB"))
        names.append(name)
    manifest["jpeg"] = names


# --- preprocessing fixtures in the layout of clip-tiny -----------------------------------

def torchvision_pixel_values(processor, opened):
    """What transformers' torchvision backend computes, step by step with torch (torchvision
    itself is not installed): convert_to_rgb as in the PIL backend, torch's antialiased
    uint8 resize, the backend's center crop (padding rounded towards the start), then
    normalisation with mean and std pre-multiplied by 1 / rescale_factor in float32."""
    import torch
    from transformers.image_transforms import convert_to_rgb, get_resize_output_image_size

    assert processor.do_rescale and processor.do_normalize
    mean = torch.tensor(processor.image_mean) * (1.0 / processor.rescale_factor)
    std = torch.tensor(processor.image_std) * (1.0 / processor.rescale_factor)
    name = {2: "bilinear", 3: "bicubic"}[int(processor.resample)]
    crop_h, crop_w = processor.crop_size.height, processor.crop_size.width
    out = []
    for im in opened:
        rgb = convert_to_rgb(im, return_numpy=True)
        height, width = get_resize_output_image_size(
            rgb, processor.size.shortest_edge, default_to_square=False,
            input_data_format="channels_last")
        image = torch.from_numpy(torch_resize(rgb, width, height, name)).permute(2, 0, 1)
        if crop_w > width or crop_h > height:
            pad_w, pad_h = max(crop_w - width, 0), max(crop_h - height, 0)
            padded = torch.zeros((3, height + pad_h, width + pad_w), dtype=torch.uint8)
            padded[:, pad_h // 2:pad_h // 2 + height, pad_w // 2:pad_w // 2 + width] = image
            image, height, width = padded, height + pad_h, width + pad_w
        top, left = int((height - crop_h) / 2.0), int((width - crop_w) / 2.0)
        image = image[:, top:top + crop_h, left:left + crop_w]
        out.append((image.to(torch.float32) - mean[:, None, None]) / std[:, None, None])
    return torch.stack(out).numpy()


def make_preprocess_folder(folder, config, images, torchvision=False):
    """images: list of (file name, PIL image, save options). With `torchvision`, the
    torchvision backend's pixel values are stored too, as pixel_values_torchvision."""
    from transformers import CLIPImageProcessorPil

    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    names = []
    for name, im, options in images:
        im.save(os.path.join(folder, "images", name), **options)
        names.append(name)
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump({"reference": "transformers CLIPImageProcessor (PIL backend)",
                   "images": names}, f, indent=1)
        f.write("\n")

    processor = CLIPImageProcessorPil.from_pretrained(folder)
    opened = [Image.open(os.path.join(folder, "images", n)) for n in names]
    pixel_values = processor(images=opened, return_tensors="np")["pixel_values"]
    first = Image.open(os.path.join(folder, "images", names[0])).convert("RGB")
    tensors = {"pixel_values": np.ascontiguousarray(pixel_values, dtype=np.float32),
               "decoded_rgb_0": np.array(first)}
    if torchvision:
        tensors["pixel_values_torchvision"] = torchvision_pixel_values(processor, opened)
    save(os.path.join(folder, "expected.safetensors"), tensors)


def preprocess_images(seed):
    rng = np.random.RandomState(seed)
    wide = Image.fromarray(picture(61, 29, seed), "RGB")
    alpha = np.add.outer(np.arange(40) * 6, np.arange(31) * 2) % 256  # every level, in bands
    alpha[::7, ::5] = rng.randint(0, 256, alpha[::7, ::5].shape)
    rgba = Image.fromarray(np.dstack([picture(31, 40, seed + 1), alpha.astype(np.uint8)]),
                           "RGBA")
    palette = Image.fromarray(picture(45, 27, seed + 2), "RGB").quantize(37)
    palette.info["transparency"] = 3
    return [
        ("wide.jpg", wide, dict(quality=92)),
        ("rgba.png", rgba, {}),
        ("palette-trns.png", palette, dict(transparency=3)),
        ("cmyk.jpg", Image.fromarray(picture(26, 35, seed + 3), "RGB").convert("CMYK"),
         dict(quality=90)),
        ("grey.jpg", Image.fromarray(picture(50, 22, seed + 4), "RGB").convert("L"),
         dict(quality=90, progressive=True)),
        ("tiny.png", Image.fromarray(picture(5, 3, seed + 5), "RGB"), {}),
    ]


def make_size_cases(manifest):
    """transformers' output sizes for shortest-edge resizing, with and without a cap, as
    [width, height, shortest_edge, longest_edge or null, resized width, resized height]."""
    from transformers.image_transforms import (get_resize_output_image_size,
                                               get_size_with_aspect_ratio)

    shapes = [(640, 480), (480, 640), (224, 224), (225, 224), (1, 1000), (1000, 1), (333, 500),
              (500, 333), (97, 31), (7, 3), (300, 299), (1920, 1080), (4000, 3)]
    cases = []
    for width, height in shapes:
        for shortest, longest in [(224, None), (336, None), (32, None), (224, 300), (20, 25)]:
            if longest is None:
                array = np.zeros((height, width, 1), dtype=np.uint8)
                h, w = get_resize_output_image_size(array, shortest, default_to_square=False,
                                                    input_data_format="channels_last")
            else:
                h, w = get_size_with_aspect_ratio((height, width), shortest, longest)
            cases.append([width, height, shortest, longest, w, h])
    manifest["sizes"] = cases


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ROOT)

    folder = os.path.join(root, "image-cases")
    os.makedirs(folder, exist_ok=True)
    tensors, manifest = {}, {}
    make_resize_cases(folder, tensors, manifest)
    make_png_variants(folder, tensors, manifest)
    make_jpeg_variants(folder, tensors, manifest)
    make_size_cases(manifest)
    save(os.path.join(folder, "expected.safetensors"),
         {k: np.ascontiguousarray(v) for k, v in tensors.items()})
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, separators=(",", ":"))
        f.write("\n")

    # The crop (14) is larger than the resized short edge (11): transformers pads, by an odd
    # amount, where its two backends round differently.
    make_preprocess_folder(os.path.join(root, "clip-preprocess"), {
        "image_processor_type": "CLIPImageProcessor",
        "size": {"shortest_edge": 11}, "crop_size": {"height": 14, "width": 14},
        "do_resize": True, "do_center_crop": True, "do_rescale": True, "do_normalize": True,
        "do_convert_rgb": True, "resample": 3, "rescale_factor": 1 / 255,
        "image_mean": [0.5, 0.45, 0.4], "image_std": [0.25, 0.3, 0.35],
    }, preprocess_images(11), torchvision=True)

    # Plain integer sizes, bilinear, and the class defaults for mean, std and rescaling.
    make_preprocess_folder(os.path.join(root, "clip-bilinear"), {
        "image_processor_type": "CLIPImageProcessor", "size": 15, "crop_size": 12,
        "resample": 2,
    }, preprocess_images(23))


if __name__ == "__main__":
    main()
