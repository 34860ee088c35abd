"""Small charts drawn with PIL (no plotting dependency): grouped bars with optional error bars."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

PALETTE = ((66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88), (171, 71, 188), (0, 172, 193),
           (255, 112, 67), (158, 157, 36))


def bar_chart(values: dict[str, dict[str, float]], title: str, errors: dict[str, dict[str, float]] | None = None,
              width: int = 900, height: int = 420) -> Image.Image:
    """Bars grouped by the outer key (e.g. image id), one colour per inner key (e.g. method), with a legend.

    ``errors`` (same layout) draws symmetric error bars.
    """
    font = ImageFont.load_default()
    groups = list(values)
    series = list(dict.fromkeys(s for group in values.values() for s in group))
    top = max([v + (errors or {}).get(g, {}).get(s, 0.0) for g in groups for s, v in values[g].items()] + [1e-9])
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, upper, lower = 60, width - 170, 40, height - 50
    draw.text((left, 10), title, fill="black", font=font)
    draw.line([(left, upper), (left, lower), (right, lower)], fill="black")
    for tick in range(5):
        value = top * tick / 4
        y = lower - (lower - upper) * tick / 4
        draw.line([(left - 4, y), (left, y)], fill="black")
        draw.text((4, y - 6), f"{value:.3g}", fill="black", font=font)
    slot = (right - left) / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    for g, group in enumerate(groups):
        x0 = left + g * slot + slot * 0.1
        for s, name in enumerate(series):
            if name not in values[group]:
                continue
            value = values[group][name]
            x = x0 + s * bar
            y = lower - (lower - upper) * value / top
            draw.rectangle([x, y, x + bar - 2, lower], fill=PALETTE[s % len(PALETTE)])
            error = (errors or {}).get(group, {}).get(name)
            if error:
                centre = x + bar / 2 - 1
                y_hi = lower - (lower - upper) * (value + error) / top
                y_lo = lower - (lower - upper) * max(0.0, value - error) / top
                draw.line([(centre, y_hi), (centre, y_lo)], fill="black", width=2)
                draw.line([(centre - 4, y_hi), (centre + 4, y_hi)], fill="black", width=2)
                draw.line([(centre - 4, y_lo), (centre + 4, y_lo)], fill="black", width=2)
        draw.text((x0, lower + 8), group[:18], fill="black", font=font)
    for s, name in enumerate(series):
        y = upper + 18 * s
        draw.rectangle([right + 15, y, right + 27, y + 12], fill=PALETTE[s % len(PALETTE)])
        draw.text((right + 33, y), name[:22], fill="black", font=font)
    return image


def interval_chart(values: dict[str, tuple[float, float, float]], title: str, value_range: tuple[float, float],
                   width: int = 900, height: int = 460) -> Image.Image:
    """One bar per name, from the bottom of ``value_range`` up to its value, with its interval ``(low, high)`` as
    an error bar (none where NaN); the axis spans ``value_range`` with a tick at each whole number, and each
    name is written in full under its bar, wrapped."""
    font = ImageFont.load_default(size=15)
    bottom, top = value_range
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, upper, lower = 50, width - 20, 45, height - 90
    draw.text((left, 12), title, fill="black", font=font)

    def y_of(value: float) -> float:
        return lower - (lower - upper) * (min(max(value, bottom), top) - bottom) / (top - bottom)

    for tick in range(int(bottom), int(top) + 1):
        y = y_of(tick)
        draw.line([(left, y), (right, y)], fill=(225, 225, 225))
        draw.text((left - 18, y - 8), str(tick), fill="black", font=font)
    draw.line([(left, upper), (left, lower), (right, lower)], fill="black")
    slot = (right - left) / max(1, len(values))
    for i, (name, (value, low, high)) in enumerate(values.items()):
        x0, x1 = left + slot * (i + 0.2), left + slot * (i + 0.8)
        draw.rectangle([x0, y_of(value), x1, lower], fill=PALETTE[i % len(PALETTE)])
        if low == low and high == high:  # not NaN
            centre = (x0 + x1) / 2
            draw.line([(centre, y_of(high)), (centre, y_of(low))], fill="black", width=2)
            for y in (y_of(high), y_of(low)):
                draw.line([(centre - 6, y), (centre + 6, y)], fill="black", width=2)
        lines = _wrap(name, max(6, int(slot / 8)))
        for k, line in enumerate(lines[:4]):
            draw.text((left + slot * i + 4, lower + 8 + 18 * k), line, fill="black", font=font)
    return image


def _wrap(text: str, width: int) -> list[str]:
    """Words packed into lines of at most ``width`` characters (a longer word keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten apart) from at most ``low`` to at least
    ``high``: the first and last are the axis' ends (a single value gets a unit around it)."""
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str,
               guides: Sequence[float] = (), width: int = 900, height: int = 420) -> Image.Image:
    """One line per name through its (x, y) points, with a legend; ``guides`` draws dotted horizontal lines
    (bounds) that the y axis always spans."""
    font = ImageFont.load_default()
    xs = [x for x_values, _ in series.values() for x in x_values] or [0.0, 1.0]
    ys = [y for _, y_values in series.values() for y in y_values] + list(guides) or [0.0, 1.0]
    x_low, x_high = min(xs), max(max(xs), min(xs) + 1e-9)
    ticks = nice_ticks(min(ys), max(ys))
    y_low, y_high = ticks[0], ticks[-1]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, upper, lower = 60, width - 250, 40, height - 40
    draw.text((left, 10), title, fill="black", font=font)

    def point(x: float, y: float) -> tuple[float, float]:
        return (left + (right - left) * (x - x_low) / (x_high - x_low),
                lower - (lower - upper) * (y - y_low) / (y_high - y_low))

    for value in ticks:
        y = point(x_low, value)[1]
        draw.line([(left - 4, y), (left, y)], fill="black")
        draw.text((4, y - 6), f"{value:g}", fill="black", font=font)
    draw.line([(left, upper), (left, lower), (right, lower)], fill="black")
    draw.text((left, lower + 8), f"{x_low:g}", fill="black", font=font)
    draw.text((right - 30, lower + 8), f"{x_high:g}", fill="black", font=font)
    for guide in guides:
        y = point(x_low, guide)[1]
        for x in range(left, right, 8):
            draw.line([(x, y), (x + 3, y)], fill="black")
    for s, (name, (x_values, y_values)) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        if len(x_values) > 1:
            draw.line([point(x, y) for x, y in zip(x_values, y_values, strict=True)], fill=colour, width=2)
        y = upper + 16 * s
        draw.rectangle([right + 15, y, right + 27, y + 10], fill=colour)
        draw.text((right + 33, y), name[:34], fill="black", font=font)
    return image
