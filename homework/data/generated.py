"""Generated image trees for the embedded profile: the five flower classes with their real
names, and a tiny three-class fruit tree standing in for "your own images" (question 10).

Classes differ in what a convnet learns (petal colour, count and shape, centre, texture);
each image varies in position, scale, rotation, count, background clutter, noise and
lighting, and classes overlap in colour (daisy / dandelion seed heads are white,
dandelion / sunflower are yellow, roses / tulips are red and pink) so accuracy is neither
trivial nor hopeless. Output is deterministic: image i of a class depends only on
(tree, class, i), never on how many images are asked for.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .. import files

RECIPE_VERSION = 1  # bump when the drawing changes: the cache key follows it
SUPERSAMPLE = 2

Painter = Callable[[ImageDraw.ImageDraw, np.random.Generator, float, float, float], None]


def _colour(rng, base, spread=18):
    return tuple(int(np.clip(c + rng.normal(0, spread), 0, 255)) for c in base)


def _ellipse_points(cx, cy, rx, ry, angle, n=18):
    ca, sa = math.cos(angle), math.sin(angle)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        points.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return points


def _petal_ring(draw, rng, cx, cy, r, count, width, colour, spread=18, outline=None):
    start = rng.uniform(0, 2 * math.pi)
    for k in range(count):
        a = start + 2 * math.pi * k / count + rng.normal(0, 0.05)
        length = r * rng.uniform(0.85, 1.1)
        px, py = cx + math.cos(a) * length / 2, cy + math.sin(a) * length / 2
        draw.polygon(_ellipse_points(px, py, length / 2, length * width / 2, a), fill=_colour(rng, colour, spread), outline=outline)


def _disc(draw, cx, cy, r, fill):
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)


def _stem(draw, rng, cx, cy, r, size):
    green = _colour(rng, (60, 130, 50), 20)
    bend = rng.uniform(-0.3, 0.3) * r
    draw.line([(cx, cy), (cx + bend, cy + 1.5 * r), (cx + bend / 2, size)], fill=green, width=max(2, int(r * 0.12)))


def daisy(draw, rng, cx, cy, r):
    _petal_ring(draw, rng, cx, cy, r, int(rng.integers(14, 23)), 0.2, (246, 244, 236), 8, outline=(200, 200, 190))
    _disc(draw, cx, cy, r * rng.uniform(0.2, 0.3), _colour(rng, (245, 190, 30), 12))


def dandelion(draw, rng, cx, cy, r):
    seed_head = rng.random() < 0.25
    base = (235, 235, 228) if seed_head else (250, 200, 20)
    for _ in range(int(rng.integers(60, 110))):
        a = rng.uniform(0, 2 * math.pi)
        length = r * rng.uniform(0.35, 1.0)
        end = (cx + math.cos(a) * length, cy + math.sin(a) * length)
        draw.line([(cx, cy), end], fill=_colour(rng, base, 14), width=max(1, int(r * 0.05)))
        if seed_head:
            _disc(draw, end[0], end[1], max(1.0, r * 0.04), _colour(rng, base, 8))
    _disc(draw, cx, cy, r * 0.12, _colour(rng, (200, 170, 60) if seed_head else (235, 170, 10), 10))


def roses(draw, rng, cx, cy, r):
    base = [(190, 20, 40), (225, 90, 130), (150, 10, 30), (240, 150, 170)][int(rng.integers(0, 4))]
    for k in range(5, 0, -1):  # layered petals, darker towards the centre
        rr = r * k / 5
        shade = tuple(int(c * (0.65 + 0.07 * k)) for c in base)
        offset = rng.normal(0, r * 0.04, 2)
        draw.ellipse((cx - rr + offset[0], cy - rr * 0.9 + offset[1], cx + rr + offset[0], cy + rr * 0.9 + offset[1]), fill=_colour(rng, shade, 10))
        start = rng.uniform(0, 360)
        draw.arc((cx - rr, cy - rr * 0.9, cx + rr, cy + rr * 0.9), start, start + 200, fill=tuple(int(c * 0.5) for c in base), width=max(1, int(r * 0.05)))


def sunflowers(draw, rng, cx, cy, r):
    _petal_ring(draw, rng, cx, cy, r, int(rng.integers(16, 28)), 0.38, (250, 190, 10), 16)
    centre = r * rng.uniform(0.4, 0.5)
    _disc(draw, cx, cy, centre, _colour(rng, (80, 45, 15), 10))
    for _ in range(int(centre * 2)):  # seed texture
        a, d = rng.uniform(0, 2 * math.pi), centre * math.sqrt(rng.random())
        _disc(draw, cx + math.cos(a) * d, cy + math.sin(a) * d, max(1.0, r * 0.03), _colour(rng, (45, 25, 8), 10))


def tulips(draw, rng, cx, cy, r):
    base = [(220, 30, 40), (240, 110, 160), (245, 140, 30), (140, 40, 150), (245, 220, 60), (245, 245, 240)][int(rng.integers(0, 6))]
    size = draw.im.size[1]
    _stem(draw, rng, cx, cy, r, size)
    leaf = _colour(rng, (70, 140, 60), 15)
    draw.polygon(_ellipse_points(cx + r * 0.45, cy + r * 1.6, r * 0.2, r * 0.9, rng.uniform(-0.5, -0.1)), fill=leaf)
    tilt = rng.normal(0, 0.2)
    for dx, shade in ((-0.35, 0.8), (0.35, 0.8), (0.0, 1.0)):  # a closed cup of tall petals
        colour = _colour(rng, tuple(int(c * shade) for c in base), 10)
        draw.polygon(_ellipse_points(cx + dx * r, cy, r * 0.38, r * 0.75, tilt + dx * 0.6), fill=colour)


def apples(draw, rng, cx, cy, r):
    base = [(200, 25, 30), (120, 190, 50), (220, 180, 40)][int(rng.integers(0, 3))]
    _disc(draw, cx - r * 0.25, cy, r * 0.7, _colour(rng, base, 12))
    _disc(draw, cx + r * 0.25, cy, r * 0.7, _colour(rng, base, 12))
    draw.ellipse((cx - r * 0.5, cy - r * 0.35, cx - r * 0.15, cy - r * 0.1), fill=(255, 255, 255))
    draw.line([(cx, cy - r * 0.6), (cx + r * 0.1, cy - r * 0.95)], fill=(90, 60, 20), width=max(2, int(r * 0.08)))
    draw.polygon(_ellipse_points(cx + r * 0.3, cy - r * 0.85, r * 0.25, r * 0.1, 0.4), fill=(60, 140, 40))


def bananas(draw, rng, cx, cy, r):
    colour = _colour(rng, (240, 210, 40), 14)
    for k in range(int(rng.integers(1, 4))):
        box = (cx - r, cy - r + k * r * 0.2, cx + r, cy + r + k * r * 0.2)
        draw.arc(box, 20, 160, fill=colour, width=max(3, int(r * 0.3)))
    draw.line([(cx - r * 0.95, cy + r * 0.3), (cx - r * 1.05, cy + r * 0.15)], fill=(90, 70, 20), width=max(2, int(r * 0.1)))


def grapes(draw, rng, cx, cy, r):
    base = [(90, 30, 110), (140, 190, 70)][int(rng.integers(0, 2))]
    for row in range(5):
        for col in range(5 - row):
            x = cx + (col - (4 - row) / 2) * r * 0.36 + rng.normal(0, r * 0.03)
            _disc(draw, x, cy - r * 0.6 + row * r * 0.32, r * 0.19, _colour(rng, base, 14))


TREES: Dict[str, Dict[str, Painter]] = {
    "flower_photos": {"daisy": daisy, "dandelion": dandelion, "roses": roses, "sunflowers": sunflowers, "tulips": tulips},
    "own_images": {"apples": apples, "bananas": bananas, "grapes": grapes},
}


def _background(rng, size) -> Image.Image:
    kind = int(rng.integers(0, 3))
    top, bottom = [((120, 170, 230), (90, 150, 70)), ((70, 120, 50), (40, 80, 35)), ((150, 120, 90), (90, 70, 50))][kind]
    t = np.linspace(0, 1, size)[:, None, None]
    gradient = (1 - t) * np.array(_colour(rng, top, 20)) + t * np.array(_colour(rng, bottom, 20))
    image = Image.fromarray(np.repeat(gradient, size, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 14))):  # leaves, stems and blur-like blobs
        x, y = rng.uniform(0, size, 2)
        if rng.random() < 0.6:
            draw.polygon(_ellipse_points(x, y, size * rng.uniform(0.03, 0.1), size * rng.uniform(0.01, 0.04), rng.uniform(0, math.pi)), fill=_colour(rng, (60, 120, 45), 30))
        else:
            draw.line([(x, y), (x + rng.normal(0, size * 0.1), y + size * rng.uniform(0.1, 0.3))], fill=_colour(rng, (70, 110, 50), 25), width=max(1, size // 60))
    return image.filter(ImageFilter.GaussianBlur(size / 120))


def draw_image(painter: Painter, rng: np.random.Generator, px: int) -> Image.Image:
    size = px * SUPERSAMPLE
    image = _background(rng, size)
    draw = ImageDraw.Draw(image)
    count = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
    for k in range(count):
        r = size * rng.uniform(0.16, 0.32) * (1.0 if k == 0 else 0.7)
        cx, cy = rng.uniform(0.15, 0.85, 2) * size
        painter(draw, rng, cx, cy, r)
    image = image.resize((px, px), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32)
    array = array * rng.uniform(0.65, 1.3) + rng.normal(0, 12, 3)  # lighting and colour cast
    array += rng.normal(0, rng.uniform(0, 10), array.shape)  # sensor noise
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


# --- Pretext task for the stand-in modules ------------------------------------------------
# Not the flower classes: every image is a random motif built from the same parts (petal
# rings of any count and shape, radial strokes, layered rings, cups, discs, seed textures)
# in random colours, labelled by several structural attributes at once. A net that predicts
# them must see count, shape, size and texture, which is what tells the flowers apart.

PRETEXT_HEADS = {"motif": 6, "count": 4, "width": 3, "centre": 3, "texture": 2, "stem": 2, "tips": 2}
MOTIFS = ("petals", "strokes", "rings", "cup", "star", "cluster")


def _random_colour(rng):
    hue = rng.uniform(0, 6)
    sat, val = rng.uniform(0.0, 1.0) ** 0.7, rng.uniform(0.25, 1.0)
    k = np.array([5.0, 3.0, 1.0])
    rgb = val * (1 - sat * np.clip(np.minimum((k + hue) % 6, 4 - (k + hue) % 6), 0, 1))
    return tuple(int(c) for c in rgb * 255)


def pretext_attributes(rng) -> Dict[str, int]:
    attrs = {name: int(rng.integers(0, n)) for name, n in PRETEXT_HEADS.items()}
    if MOTIFS[attrs["motif"]] not in ("petals", "strokes"):
        attrs["tips"] = 0
    return attrs


def pretext_painter(attrs: Dict[str, int], rng) -> Painter:
    """A painter drawing the motif `attrs` describes; colours are drawn once per image."""
    colours = [_random_colour(rng) for _ in range(4)]
    motif = MOTIFS[attrs["motif"]]
    counts = {"petals": ((4, 7), (9, 14), (16, 22), (26, 36)), "strokes": ((12, 20), (30, 50), (60, 90), (110, 150)),
              "rings": ((1, 2), (3, 3), (4, 5), (6, 8)), "cup": ((2, 2), (3, 3), (4, 4), (5, 6)),
              "star": ((3, 4), (5, 6), (7, 9), (10, 14)), "cluster": ((3, 5), (7, 10), (12, 18), (22, 32))}[motif]
    lo, hi = counts[attrs["count"]]
    width = (0.15, 0.38, 0.7)[attrs["width"]]

    def paint(draw, rng, cx, cy, r):
        n = int(rng.integers(lo, hi + 1))
        if attrs["stem"]:
            _stem(draw, rng, cx, cy, r, draw.im.size[1])
        if motif == "petals":
            _petal_ring(draw, rng, cx, cy, r, n, width, colours[0], 14)
        elif motif == "strokes":
            for _ in range(n):
                a, length = rng.uniform(0, 2 * math.pi), r * rng.uniform(0.35, 1.0)
                draw.line([(cx, cy), (cx + math.cos(a) * length, cy + math.sin(a) * length)], fill=_colour(rng, colours[0], 14), width=max(1, int(r * width * 0.15)))
        elif motif == "rings":
            for k in range(n, 0, -1):
                rr = r * k / n
                draw.ellipse((cx - rr, cy - rr * 0.9, cx + rr, cy + rr * 0.9), fill=_colour(rng, tuple(int(c * (0.6 + 0.4 * k / n)) for c in colours[0]), 10))
                start = rng.uniform(0, 360)
                draw.arc((cx - rr, cy - rr * 0.9, cx + rr, cy + rr * 0.9), start, start + 200, fill=tuple(int(c * 0.5) for c in colours[0]), width=max(1, int(r * 0.05)))
        elif motif == "cup":
            tilt = rng.normal(0, 0.2)
            for j in range(n):
                dx = (j / max(1, n - 1) - 0.5) * 0.8
                draw.polygon(_ellipse_points(cx + dx * r, cy, r * width * 0.7, r * 0.75, tilt + dx * 0.6), fill=_colour(rng, colours[0], 16))
        elif motif == "star":
            a0 = rng.uniform(0, 2 * math.pi)
            inner = 1 - 0.8 * width
            pts = [(cx + r * (1 if k % 2 == 0 else inner) * math.cos(a0 + math.pi * k / n), cy + r * (1 if k % 2 == 0 else inner) * math.sin(a0 + math.pi * k / n)) for k in range(2 * n)]
            draw.polygon(pts, fill=_colour(rng, colours[0], 10))
        else:
            for _ in range(n):
                a, d = rng.uniform(0, 2 * math.pi), r * 0.75 * math.sqrt(rng.random())
                _disc(draw, cx + math.cos(a) * d, cy + math.sin(a) * d, r * (0.1 + 0.2 * width), _colour(rng, colours[0], 14))
        if attrs["tips"]:
            for _ in range(n):
                a = rng.uniform(0, 2 * math.pi)
                _disc(draw, cx + math.cos(a) * r, cy + math.sin(a) * r, max(1.0, r * 0.05), _colour(rng, colours[3], 8))
        if attrs["centre"]:
            centre = r * ((0.12, 0.25), (0.38, 0.55))[attrs["centre"] - 1][int(rng.integers(0, 2))]
            _disc(draw, cx, cy, centre, _colour(rng, colours[1], 10))
            if attrs["texture"]:
                for _ in range(int(centre * 2)):
                    a, d = rng.uniform(0, 2 * math.pi), centre * math.sqrt(rng.random())
                    _disc(draw, cx + math.cos(a) * d, cy + math.sin(a) * d, max(1.0, r * 0.03), _colour(rng, colours[2], 10))

    return paint


def pretext_batch(rng: np.random.Generator, count: int, px: int):
    """`count` pretext images (uint8, px x px) and their attribute labels (one array per head)."""
    images = np.empty((count, px, px, 3), np.uint8)
    labels = {name: np.zeros(count, np.int64) for name in PRETEXT_HEADS}
    for i in range(count):
        attrs = pretext_attributes(rng)
        if not attrs["centre"]:
            attrs["texture"] = 0
        images[i] = np.asarray(draw_image(pretext_painter(attrs, rng), rng, px))
        for name, value in attrs.items():
            labels[name][i] = value
    return images, labels


def _image_seed(tree: str, label: str, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{tree}/{label}/{index}/v{RECIPE_VERSION}".encode()).digest()[:8], "little")


def write_tree(out_dir: Path, tree: str, images_per_class: int, px: int) -> Tuple[Path, int]:
    """Write the generated tree `tree` into out_dir/<tree>/<class>/<class>_<i>.jpg.
    Returns (tree root, images written)."""
    root = Path(out_dir) / tree
    written = 0
    for label, painter in TREES[tree].items():
        for index in range(images_per_class):
            rng = np.random.default_rng(_image_seed(tree, label, index))
            image = draw_image(painter, rng, px)
            target = root / label / f"{label}_{index:04d}.jpg"
            with files.atomic_path(target) as tmp:
                image.save(tmp, format="JPEG", quality=90)
            written += 1
    return root, written


def tree_key(tree: str, images_per_class: int, px: int) -> str:
    return f"{tree}-v{RECIPE_VERSION}-{images_per_class}x{px}px"
