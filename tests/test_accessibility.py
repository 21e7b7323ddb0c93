"""Contrast (>= 7:1), text size (>= 32 px), captions and translations, checked on the stylesheet
and on screenshots of the real widgets."""

import re

import numpy as np
import pytest
import tomllib
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QLabel, QPushButton

from kiosk.ui import strings as S
from kiosk.ui.theme import (
    COLOURS,
    MIN_TEXT_PX,
    contrast_ratio,
    relative_luminance,
    stylesheet,
)

from conftest import ROOT, make_cfg, shown_kiosk


def rules(qss: str):
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", qss, flags=re.DOTALL)):
        props = dict(re.findall(r"([\w-]+)\s*:\s*([^;]+);", body))
        yield selector.strip(), {k: v.strip() for k, v in props.items()}


def test_every_text_colour_in_the_stylesheet_reaches_7_to_1():
    all_rules = list(rules(stylesheet()))
    base_bg = dict(all_rules)["QWidget"]["background-color"]
    checked = 0
    for selector, props in all_rules:
        if "color" in props:
            bg = props.get("background-color", base_bg)
            ratio = contrast_ratio(props["color"], bg)
            assert ratio >= 7.0, f"{selector}: {props['color']} on {bg} is {ratio:.2f}:1"
            checked += 1
    assert checked >= 8


def test_every_font_size_is_at_least_32px():
    sizes = [(sel, int(p["font-size"].rstrip("px"))) for sel, p in rules(stylesheet()) if "font-size" in p]
    assert sizes and all(px >= MIN_TEXT_PX for _, px in sizes), sizes


def test_palette_contrast_math():
    assert contrast_ratio("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.fixture()
def kiosk(state_dir):
    from kiosk.reporting import NullReporter
    from kiosk.vision.pipeline import VisionPipeline

    cfg = make_cfg(state_dir)
    pipeline = VisionPipeline(cfg)
    with shown_kiosk(cfg, pipeline, reporter=NullReporter()) as k:
        yield k
    pipeline.close()


def _image(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3].reshape(img.height(), img.width(), 3)


def _hex(rgb) -> str:
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02X}{g:02X}{b:02X}"


def measured_contrast(widget) -> float:
    """Contrast between the widget's dominant colour (its background) and its most distant
    pixel (the core of the glyphs), as a person would see it on screen."""
    pix = _image(widget).reshape(-1, 3)
    colours, counts = np.unique(pix, axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    lum = np.array([relative_luminance(_hex(c)) for c in colours])
    bg_l = relative_luminance(_hex(bg))
    far = colours[np.abs(lum - bg_l).argmax()]
    return contrast_ratio(_hex(far), _hex(bg))


def test_screenshots_of_text_reach_7_to_1_and_32px(kiosk, screenshot_dir):
    from kiosk.ui.gallery import render_all

    w = kiosk.window
    render_all(w, screenshot_dir / "gallery")
    w.question.show_question("🛑", S.tr(S.CANCEL), S.tr(S.CANCEL_CONFIRM), S.tr(S.YES_CANCEL), S.tr(S.NO_GO_ON))
    for screen in (w.attract, w.welcome, w.question):
        w.show_screen(screen)
        for widget in screen.findChildren(QLabel) + screen.findChildren(QPushButton):
            if not widget.isVisible() or not widget.text() or widget.objectName() == "icon":
                continue
            assert widget.fontInfo().pixelSize() >= MIN_TEXT_PX, widget.text()
            assert measured_contrast(widget) >= 7.0, widget.text()
    w.show_caption("Look at the camera")
    assert measured_contrast(w.caption) >= 7.0


def test_everything_spoken_is_also_captioned(kiosk):
    c = kiosk.controller
    captions = []
    c.speaker.caption.connect(captions.append)
    c.handle_command("voice")  # voice off: captions must continue
    c.handle_command("help")
    c.handle_command("start")  # the choices
    c.handle_command("start")
    assert captions and all(t for t in captions)
    assert captions[-1] == S.tr(S.LIVENESS_TITLE) + ". " + S.tr(S.LIVENESS_DETAIL)
    assert kiosk.window.caption.text() == captions[-1]


def test_a_long_caption_is_shown_whole_in_pages_at_a_reading_pace(kiosk):
    """The spoken welcome reads out every choice: too long for the two-line bar. A person who
    cannot hear it reads it in pages that turn by themselves, the last one staying."""
    w = kiosk.window
    kiosk.controller.model_problem = ""
    kiosk.controller.handle_command("start")  # the welcome, read out with every choice
    text = w.caption_text
    assert text.startswith(S.tr(S.WELCOME_SPOKEN)) and "5" in text
    shown = [w.caption.text()]
    while w._caption_timer.isActive():
        interval_s = w._caption_timer.interval() / 1000
        page = shown[-1].removesuffix(" …")
        assert interval_s >= max(w.CAPTION_MIN_PAGE_S, len(page) / w.CAPTION_CHARS_PER_S) - 0.01
        w._caption_timer.stop()
        w._next_caption_page()
        shown.append(w.caption.text())
        assert len(shown) < 50
    assert len(shown) >= 2, "the text is longer than the bar"
    assert all(t.endswith(" …") for t in shown[:-1]) and not shown[-1].endswith(" …")
    assert " ".join(t.removesuffix(" …") for t in shown) == text, "every word, in order, once"
    w.show_caption("Look at the camera")  # a new caption starts on its own first page
    assert w.caption.text() == "Look at the camera" and not w._caption_timer.isActive()


def test_the_attract_screen_does_not_keep_the_last_persons_words(kiosk):
    """Back on the attract screen, the caption of the last prompt (a verdict, "Session
    cancelled", the attract help) goes once it has been said and could be read. It used to stay
    until the next prompt: the next person walking up read "We could not verify you"."""
    from kiosk.session.engine import State
    from kiosk.session.observation import Observation

    from conftest import wait_until

    c, w = kiosk.controller, kiosk.window
    c.model_problem = ""
    clock = c.engine.clock
    c.handle_command("start")
    c.handle_command("start")
    live = {"face": True, "faces": 1, "track_id": 1, "head_pose": (0.0, 0.0, 0.0)}
    for _ in range(c.engine.settings.spoof_frames):
        clock.advance(0.04)
        c.on_observation(Observation(**live, live=False))
    assert c.engine.state == State.DENIED and w.caption.text() == S.DENIED_DETAIL
    assert wait_until(lambda: not c.speaker.is_speaking())
    clock.advance(c.engine.settings.result_display_s + 0.1)
    c._tick()
    c._tick()
    assert c.engine.state == State.IDLE and w.caption.text() == ""

    c.handle_command("repeat")  # said on the attract screen: stays while it can be read
    assert wait_until(lambda: not c.speaker.is_speaking())
    c._tick()
    assert w.caption.text() == S.ATTRACT_HELP
    clock.advance(len(S.ATTRACT_HELP) / w.CAPTION_CHARS_PER_S + 0.1)
    c._tick()
    assert w.caption.text() == ""


def test_german_translation_is_complete_and_compiled(kiosk):
    table = tomllib.loads((ROOT / "resources/translations/de.toml").read_text(encoding="utf-8"))["strings"]
    sources = S.all_source_strings()
    missing = [s for s in sources if s not in table]
    assert not missing, f"untranslated: {missing}"
    tr = QTranslator()
    assert tr.load(str(ROOT / "resources/translations/kiosk_de.qm"))
    stale = [s for s in sources if tr.translate(S.CONTEXT, s) != table[s]]
    assert not stale, f"kiosk_de.qm is out of date (run resources/translations/build.py): {stale[:3]}"


def test_german_kiosk_shows_german(state_dir, screenshot_dir):
    from kiosk.reporting import NullReporter
    from kiosk.vision.pipeline import VisionPipeline

    cfg = make_cfg(state_dir, ui={"language": "de"})
    pipeline = VisionPipeline(cfg)
    try:
        with shown_kiosk(cfg, pipeline, reporter=NullReporter()) as k:
            k.controller.model_problem = ""
            k.controller.handle_command("start")
            k.controller.handle_command("start")
            assert k.window.session.title.text() == "Schauen Sie in die Kamera"
            assert k.window.caption.text().startswith("Schauen Sie in die Kamera")
            k.window.grab().save(str(screenshot_dir / "liveness_de.png"))
    finally:
        pipeline.close()


def icon_contrast(b) -> tuple[float, int]:
    """(contrast of the icon's glyph against what it is drawn on, icon height in px), from the
    button's rendered pixels. The button is drawn without its words; what is left inside the
    border is the icon. Its own background is its dominant colour (a tile, or the button
    itself when the emoji is drawn straight onto it); the glyph is every pixel clearly unlike
    it, and its median luminance stands for the colour a person sees."""
    text = b.text()
    b.setText("")
    try:
        img = _image(b).astype(int)
    finally:
        b.setText(text)
    inset = 10  # inside the 4-6 px border and the rounded corners
    inner = img[inset:-inset, inset:-inset]
    flat = inner.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    button_bg = colours[counts.argmax()]
    ys, xs = np.nonzero(np.abs(inner - button_bg).max(axis=2) > 40)
    assert len(ys), f"{b.accessibleName()}: no icon drawn"
    box = inner[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].reshape(-1, 3)
    colours, counts = np.unique(box, axis=0, return_counts=True)
    local_bg = colours[counts.argmax()]
    glyph = box[np.abs(box - local_bg).max(axis=1) > 40]
    lum = np.array([relative_luminance(_hex(c)) for c in glyph])
    median = glyph[np.argsort(lum)[len(lum) // 2]]
    return contrast_ratio(_hex(median), _hex(local_bg)), int(ys.max() - ys.min() + 1)


def test_icons_on_buttons_reach_3_to_1_and_profile_icons_are_twice_the_text(kiosk, screenshot_dir):
    """WCAG 1.4.11: an icon must stand out from what it is drawn on by 3:1. Most emoji are
    yellow like the buttons (the raised hands of "I can't use my hands" measured 1.33:1 when
    drawn straight on the button). Profile icons are at least twice the text size."""
    from kiosk.ui.screens import PROFILE_ICONS, emoji_icon

    w = kiosk.window
    kiosk.controller.model_problem = ""
    kiosk.controller.handle_command("start")  # the welcome screen with its profile buttons
    w.show_screen(w.welcome)
    for _ in range(10):  # let the grid settle at the window's width
        QCoreApplication.processEvents()
    checked = 0
    for b in w.findChildren(QPushButton):
        if not b.isVisible() or b.icon().isNull():
            continue
        ratio, height = icon_contrast(b)
        assert ratio >= 3.0, f"{b.accessibleName()}: icon {ratio:.2f}:1"
        if b in w.welcome.profile_buttons.values():
            text_px = b.fontInfo().pixelSize()
            assert height >= 2 * text_px, f"{b.accessibleName()}: icon {height} px, text {text_px} px"
        checked += 1
    assert checked >= 6
    # the measurement itself: the raised hands drawn straight onto a yellow button fail it
    hands = QPushButton(w.welcome)
    hands.setIconSize(w.welcome.profile_buttons["no_hands"].iconSize())
    bare = emoji_icon(PROFILE_ICONS["no_hands"], 72).pixmap(72, 72).toImage()
    arr = _image_of_qimage(bare)
    tile = arr[0 if arr.shape[0] < 3 else 36, 2]
    assert contrast_ratio(_hex(tile[:3]), COLOURS["button_bg"]) >= 3.0, "the tile stands out from the button"
    from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

    pix = QPixmap(72, 72)
    pix.fill(QColor(0, 0, 0, 0))
    p = QPainter(pix)
    font = QFont()
    font.setPixelSize(50)
    p.setFont(font)
    p.drawText(pix.rect(), 0x84, PROFILE_ICONS["no_hands"])  # AlignCenter
    p.end()
    hands.setIcon(QIcon(pix))
    hands.resize(300, 110)
    hands.show()
    ratio, _ = icon_contrast(hands)
    assert ratio < 3.0, f"the bare emoji on yellow measured {ratio:.2f}:1; the test would not catch it"
    hands.deleteLater()


def _image_of_qimage(img) -> np.ndarray:
    img = img.convertToFormat(img.Format.Format_RGBA8888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4].reshape(img.height(), img.width(), 4)
