"""Small charts drawn with PIL (no plotting dependency): grouped bars with optional error bars."""

from __future__ import annotations

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
