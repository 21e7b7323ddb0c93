"""Speech channels of the kiosk: speech out, voice commands, earcons.

Pure Python (no Qt): ``transport`` (the Azure REST POST under one deadline, back-off),
``fallback`` (the first-success loop both chains run), ``tts`` (AzureTTS, OfflineTTS, TTSChain),
``commands`` (Command, parse_command, AzureSTT, KeywordSpotter, CommandRecognizer), ``earcons``.
Qt: ``kiosk.speech.qt_audio`` (Speaker, Listener) -- imported on demand, not here, so the
pure parts work without PySide6.

Typical wiring (cfg.speech: azure_region, azure_key_file, timeout_s, cache_dir)::

    from kiosk.speech import build_from_config
    from kiosk.speech.qt_audio import Speaker, Listener
    tts, recognizer = build_from_config(cfg.speech, language=cfg.ui.language)
    speaker = Speaker(tts, language=cfg.ui.language, enabled=cfg.ui.voice)
    listener = Listener(recognizer, language=cfg.ui.language)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .commands import (
    AzureSTT,
    Command,
    CommandRecognizer,
    KeywordSpotter,
    RecognitionError,
    build_command_recognizer,
    parse_command,
)
from .earcons import EARCONS, earcon_path
from .transport import SpeechTimeout, SpeechTransportError
from .tts import (
    AZURE_VOICES,
    ESPEAK_VOICES,
    AzureCredentials,
    AzureTTS,
    CredentialsError,
    OfflineTTS,
    Synthesis,
    TTSChain,
    TTSError,
    build_tts_chain,
)

if TYPE_CHECKING:
    from ..config import SpeechConfig

log = logging.getLogger(__name__)


def build_from_config(speech_cfg: SpeechConfig, language: str = "en") -> tuple[TTSChain, CommandRecognizer]:
    """(TTSChain, CommandRecognizer) from the kiosk's [speech] settings.

    Azure is used when a key (KIOSK_AZURE_SPEECH_KEY or speech.azure_key_file) and a region
    (speech.azure_region or KIOSK_AZURE_SPEECH_REGION) exist; otherwise offline only. An
    unprotected key file is refused (logged) and the kiosk runs offline. speech.timeout_s
    bounds every Azure request, speech out and in; a prompt's whole fallback deadline is
    1 s, or timeout_s + 0.2 s when a site sets a longer Azure timeout.
    """
    try:
        creds = AzureCredentials.from_env_or_file(
            speech_cfg.azure_key_file or None, region=speech_cfg.azure_region or None
        )
    except CredentialsError as exc:
        log.error("Azure speech disabled: %s", exc)
        creds = None
    timeout_s = float(speech_cfg.timeout_s)
    tts = build_tts_chain(
        creds, cache_dir=speech_cfg.cache_dir, timeout_s=timeout_s, deadline_s=max(1.0, timeout_s + 0.2)
    )
    recognizer = build_command_recognizer(creds, language=language, timeout_s=timeout_s)
    log.info("speech: %s", "Azure with offline fallback" if creds else "offline only (espeak-ng, pocketsphinx)")
    return tts, recognizer


__all__ = [
    "AZURE_VOICES",
    "AzureCredentials",
    "AzureSTT",
    "AzureTTS",
    "Command",
    "CommandRecognizer",
    "CredentialsError",
    "EARCONS",
    "ESPEAK_VOICES",
    "KeywordSpotter",
    "OfflineTTS",
    "RecognitionError",
    "SpeechTimeout",
    "SpeechTransportError",
    "Synthesis",
    "TTSChain",
    "TTSError",
    "build_command_recognizer",
    "build_from_config",
    "build_tts_chain",
    "earcon_path",
    "parse_command",
]
