"""Draw the Flatpeak brand icon.

The icon is a rounded teal square carrying a white price curve: the curve
starts high, falls into a flat, cheap trough and rises again.  A warm amber
lightning bolt sits in the trough, marking the time to charge.

Every shape is described in unit coordinates (0..1 across the canvas), drawn
at four times the output size and reduced with a Lanczos filter, which gives
smooth edges without depending on Pillow's anti-aliasing.  The output holds
no timestamps, so running the script twice gives the same bytes.

Usage::

    python scripts/make_icon.py

It writes ``custom_components/flatpeak/brand/icon.png`` (256x256) and
``icon@2x.png`` (512x512), both RGBA with a transparent background.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
import math
from pathlib import Path

from PIL import Image, ImageDraw

Point = tuple[float, float]
Color = tuple[int, int, int, int]

SUPERSAMPLE = 4
"""Factor by which the icon is drawn larger than its output size."""

BRAND_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "flatpeak" / "brand"
OUTPUTS: dict[str, int] = {"icon.png": 256, "icon@2x.png": 512}

# Palette.
TEAL_TOP: Color = (18, 132, 118, 255)
TEAL_BOTTOM: Color = (8, 84, 80, 255)
WHITE: Color = (255, 255, 255, 255)
AMBER: Color = (255, 183, 43, 255)

# Background: rounded square covering the canvas.
CORNER_RADIUS = 0.225

# Price curve: high shoulder, S-shaped fall, flat trough, mirrored rise.
STROKE = 0.085
CURVE_TOP = 0.30
CURVE_LOW = 0.69
CURVE_LEFT = 0.10
FALL_LEFT = 0.175
TROUGH_LEFT = 0.39
CURVE_SAMPLES = 64

# Lightning bolt, in its own unit box (x and y from 0 to 1).
BOLT_SHAPE: tuple[Point, ...] = (
    (0.56, 0.00),
    (0.06, 0.58),
    (0.44, 0.58),
    (0.32, 1.00),
    (0.94, 0.40),
    (0.56, 0.40),
    (0.78, 0.00),
)
BOLT_CENTER: Point = (0.5, 0.455)
BOLT_SIZE: Point = (0.21, 0.32)
BOLT_ROUNDING = 0.012


def cubic_bezier(p0: Point, p1: Point, p2: Point, p3: Point, samples: int) -> list[Point]:
    """Return ``samples + 1`` points along a cubic Bezier curve, ends included."""
    points: list[Point] = []
    for i in range(samples + 1):
        t = i / samples
        u = 1.0 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        points.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return points


def price_curve() -> list[Point]:
    """Return the price curve as a polyline in unit coordinates.

    The left half is a short high plateau followed by a Bezier with
    horizontal tangents at both ends, so the line eases off the high price
    and settles into the flat trough; the right half mirrors it around the
    vertical centre line.
    """
    mid = (FALL_LEFT + TROUGH_LEFT) / 2
    fall = [
        (CURVE_LEFT, CURVE_TOP),
        *cubic_bezier(
            (FALL_LEFT, CURVE_TOP),
            (mid, CURVE_TOP),
            (mid, CURVE_LOW),
            (TROUGH_LEFT, CURVE_LOW),
            CURVE_SAMPLES,
        ),
    ]
    rise = [(1.0 - x, y) for x, y in reversed(fall)]
    return fall + rise


def scale(points: Sequence[Point], size: int) -> list[Point]:
    """Map unit coordinates onto a canvas ``size`` pixels wide."""
    return [(x * size, y * size) for x, y in points]


def bolt_polygon() -> list[Point]:
    """Return the lightning bolt outline in unit coordinates."""
    (cx, cy), (w, h) = BOLT_CENTER, BOLT_SIZE
    return [(cx + (x - 0.5) * w, cy + (y - 0.5) * h) for x, y in BOLT_SHAPE]


def background(size: int) -> Image.Image:
    """Return the rounded square with a soft top-to-bottom teal gradient."""
    gradient = Image.linear_gradient("L").resize((size, size))
    top = Image.new("RGBA", (size, size), TEAL_TOP)
    bottom = Image.new("RGBA", (size, size), TEAL_BOTTOM)
    fill = Image.composite(bottom, top, gradient)

    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (0, 0, size - 1, size - 1), radius=round(CORNER_RADIUS * size), fill=255
    )
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(fill, (0, 0), mask)
    return canvas


def draw_stroke(draw: ImageDraw.ImageDraw, points: Sequence[Point], width: float) -> None:
    """Draw a polyline with round joins and round end caps.

    Each segment is filled as a quadrilateral and every vertex as a disc.
    Pillow's own ``joint="curve"`` leaves hairline gaps on finely sampled
    curves, which this avoids.
    """
    radius = width / 2
    for (x0, y0), (x1, y1) in pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        nx, ny = -(y1 - y0) / length * radius, (x1 - x0) / length * radius
        draw.polygon(
            [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)],
            fill=WHITE,
        )
    for x, y in points:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)


def draw_bolt(draw: ImageDraw.ImageDraw, size: int) -> None:
    """Draw the lightning bolt, its outer corners slightly rounded."""
    outline = scale(bolt_polygon(), size)
    draw.polygon(outline, fill=AMBER)
    draw.line(
        [*outline, outline[0], outline[1]],
        fill=AMBER,
        width=round(BOLT_ROUNDING * size),
        joint="curve",
    )


def render(size: int) -> Image.Image:
    """Return the icon as an RGBA image ``size`` pixels square."""
    big = size * SUPERSAMPLE
    canvas = background(big)
    draw = ImageDraw.Draw(canvas)
    draw_stroke(draw, scale(price_curve(), big), STROKE * big)
    draw_bolt(draw, big)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Render every icon size and write it into the brand folder."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    for name, size in OUTPUTS.items():
        path = BRAND_DIR / name
        render(size).save(path, format="PNG", optimize=True)
        print(f"wrote {path} ({size}x{size})")


if __name__ == "__main__":
    main()
