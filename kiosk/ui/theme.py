"""High-contrast theme. Colours are defined once here; the stylesheet and the contrast test read them."""

from __future__ import annotations

from ..config import PROJECT_ROOT

STYLE_FILE = PROJECT_ROOT / "resources" / "styles" / "high_contrast.qss"

# Foreground / background pairs used on screen; each must reach 7:1 (WCAG 1.4.6, AAA).
COLOURS = {
    "background": "#000000",
    "text": "#FFFFFF",
    "muted": "#E6E6E6",  # secondary text
    "accent": "#FFD60A",  # highlights, focus ring, progress
    "success": "#5CFF8A",
    "danger": "#FF9E9E",
    "button_bg": "#FFD60A",
    "button_text": "#000000",
    "panel": "#1A1A1A",  # raised panels; text on it must also reach 7:1
}

MIN_TEXT_PX = 32
MIN_TOUCH_MM = 20.0


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio between two #RRGGBB colours."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def stylesheet() -> str:
    """The QSS with the palette's names (@text, @background, ...) filled in."""
    qss = STYLE_FILE.read_text(encoding="utf-8")
    for name in sorted(COLOURS, key=len, reverse=True):  # @button_text before @text
        qss = qss.replace(f"@{name}", COLOURS[name])
    return qss
