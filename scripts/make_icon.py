"""Draw the Flatpeak brand images: the icon, the logo, and their dark variants.

The icon is a rounded teal square carrying a white price curve: the curve
starts high, falls into a flat, cheap trough and rises again.  A warm amber
lightning bolt sits in the trough, marking the time to charge.

Every shape is described in unit coordinates (0..1 across the canvas), drawn
at four times the output size and reduced with a Lanczos filter, which gives
smooth edges without depending on Pillow's anti-aliasing.  The output holds
no timestamps, so running the script twice gives the same bytes.

The logo is the icon followed by the wordmark "Flatpeak", set in DejaVu Sans
Bold (Debian's ``fonts-dejavu-core``).  The dark variants, for Home Assistant's
dark theme, use a lighter teal for the icon and a near-white wordmark.

Usage::

    python scripts/make_icon.py

It writes the set the home-assistant/brands repository describes, all RGBA PNGs
with a transparent background, trimmed, and optimised:

=====================  ==========================================
icon.png               256x256
icon@2x.png            512x512
logo.png               landscape, 128 pixels high
logo@2x.png            landscape, 256 pixels high
dark_icon.png ...      the same four names with a ``dark_`` prefix
=====================  ==========================================

into two folders: ``custom_components/flatpeak/brand/``, which Home Assistant
2026.3 and later serve for a custom integration, and
``brands/custom_integrations/flatpeak/``, laid out as a submission to the
home-assistant/brands repository (older releases load brand images from
brands.home-assistant.io only).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Point = tuple[float, float]
Color = tuple[int, int, int, int]

SUPERSAMPLE = 4
"""Factor by which the icon is drawn larger than its output size."""

ROOT = Path(__file__).resolve().parent.parent
BRAND_DIR = ROOT / "custom_components" / "flatpeak" / "brand"
SUBMISSION_DIR = ROOT / "brands" / "custom_integrations" / "flatpeak"
OUTPUT_DIRS: tuple[Path, ...] = (BRAND_DIR, SUBMISSION_DIR)

ICON_SIZES: dict[str, int] = {"icon.png": 256, "icon@2x.png": 512}
"""Icon file names and their side, in pixels."""
LOGO_HEIGHTS: dict[str, int] = {"logo.png": 128, "logo@2x.png": 256}
"""Logo file names and their height (the shortest side), in pixels."""
DARK_PREFIX = "dark_"

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_PACKAGE = "fonts-dejavu-core"
WORDMARK = "Flatpeak"

# Palette.
TEAL_TOP: Color = (18, 132, 118, 255)
TEAL_BOTTOM: Color = (8, 84, 80, 255)
WHITE: Color = (255, 255, 255, 255)
AMBER: Color = (255, 183, 43, 255)
# The dark variant: a lighter teal, which stands out on a dark background.
DARK_TEAL_TOP: Color = (38, 176, 156, 255)
DARK_TEAL_BOTTOM: Color = (18, 124, 114, 255)
# The wordmark: the icon's deep teal on light backgrounds, near-white on dark ones.
INK: Color = (8, 84, 80, 255)
DARK_INK: Color = (236, 246, 244, 255)

# Wordmark, in units of the logo's height: the gap after the icon, and the height of
# a capital letter, centred on the icon (descenders hang below, inside the image).
WORDMARK_GAP = 0.22
CAP_HEIGHT = 0.46

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


def background(size: int, *, dark: bool = False) -> Image.Image:
    """Return the rounded square with a soft top-to-bottom teal gradient."""
    gradient = Image.linear_gradient("L").resize((size, size))
    top = Image.new("RGBA", (size, size), DARK_TEAL_TOP if dark else TEAL_TOP)
    bottom = Image.new("RGBA", (size, size), DARK_TEAL_BOTTOM if dark else TEAL_BOTTOM)
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


def render_big(size: int, *, dark: bool = False) -> Image.Image:
    """Return the icon drawn ``SUPERSAMPLE`` times larger than ``size``."""
    big = size * SUPERSAMPLE
    canvas = background(big, dark=dark)
    draw = ImageDraw.Draw(canvas)
    draw_stroke(draw, scale(price_curve(), big), STROKE * big)
    draw_bolt(draw, big)
    return canvas


def render(size: int, *, dark: bool = False) -> Image.Image:
    """Return the icon as an RGBA image ``size`` pixels square."""
    return render_big(size, dark=dark).resize((size, size), Image.Resampling.LANCZOS)


class FontMissingError(SystemExit):
    """The wordmark's font is not installed."""

    def __init__(self, path: Path) -> None:
        """Say which font is missing and how to install it."""
        super().__init__(
            f"make_icon: the wordmark font {path} is missing; install it with"
            f" `apt-get install {FONT_PACKAGE}` (Debian/Ubuntu) and run this again"
        )


def load_font(pixels: int, path: Path = FONT_PATH) -> ImageFont.FreeTypeFont:
    """Return the wordmark font at ``pixels`` per em, or fail saying what to install."""
    if not path.is_file():
        raise FontMissingError(path)
    return ImageFont.truetype(str(path), pixels)


def render_logo(height: int, *, dark: bool = False, font_path: Path = FONT_PATH) -> Image.Image:
    """Return the logo, the icon and the wordmark, ``height`` pixels high and trimmed.

    The font is sized so that a capital letter is ``CAP_HEIGHT`` of the logo's height,
    measured on the font's own "F" rather than assumed from its metrics.
    """
    big = height * SUPERSAMPLE
    probe = load_font(1000, font_path)
    _, top, _, bottom = probe.getbbox("F", anchor="ls")
    cap = bottom - top  # top is negative: above the baseline
    font = load_font(round(CAP_HEIGHT * big * 1000 / cap), font_path)
    ink_left, _, ink_right, _ = font.getbbox(WORDMARK, anchor="ls")

    text_x = big + round(WORDMARK_GAP * big) - round(ink_left)
    baseline = round((big + CAP_HEIGHT * big) / 2)
    width = math.ceil(text_x + ink_right) + SUPERSAMPLE
    canvas = Image.new("RGBA", (width, big), (0, 0, 0, 0))
    canvas.paste(render_big(height, dark=dark), (0, 0))
    ImageDraw.Draw(canvas).text(
        (text_x, baseline), WORDMARK, font=font, fill=DARK_INK if dark else INK, anchor="ls"
    )
    logo = canvas.resize(
        (round(width / SUPERSAMPLE), height), Image.Resampling.LANCZOS, reducing_gap=None
    )
    return trim(logo)


def trim(image: Image.Image) -> Image.Image:
    """Return ``image`` without its fully transparent margins."""
    box = image.getchannel("A").getbbox()
    return image.crop(box) if box else image


def images() -> dict[str, Image.Image]:
    """Return every brand image by file name."""
    result: dict[str, Image.Image] = {}
    for dark in (False, True):
        prefix = DARK_PREFIX if dark else ""
        for name, size in ICON_SIZES.items():
            result[prefix + name] = render(size, dark=dark)
        for name, height in LOGO_HEIGHTS.items():
            result[prefix + name] = render_logo(height, dark=dark)
    return result


def main() -> None:
    """Render every brand image and write it into each output folder."""
    rendered = images()
    for folder in OUTPUT_DIRS:
        folder.mkdir(parents=True, exist_ok=True)
        for name, image in rendered.items():
            path = folder / name
            image.save(path, format="PNG", optimize=True)
            print(f"wrote {path.relative_to(ROOT)} ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
