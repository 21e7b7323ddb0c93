"""Every user-facing sentence, in English source form. Shown and spoken through `tr()` (Qt
translation, context "kiosk"); resources/translations/ holds the other languages."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "kiosk"


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


ATTRACT_TITLE = "Human verification"
ATTRACT_DETAIL = "Step in front of the camera, or press Start."
WELCOME_TITLE = "Welcome"
WELCOME_DETAIL = "Choose what suits you, then press Start. You can also say \"start\"."
START = "Start"
LIVENESS_TITLE = "Look at the camera"
LIVENESS_DETAIL = "Keep your face in the frame and stay still for a moment."
CHALLENGE_OF = "Step {index} of {total}"
ATTEMPTS_LEFT = "Tries left: {n}"
SECONDS_LEFT = "{n} s"
DETECTED = "Hold it"  # short: it shares a row with the countdown and the count
WELL_DONE = "Well done. Next step coming."
MORE_TIME = "More time"
CANCEL = "Cancel"
VOICE_ON = "Voice on"
VOICE_OFF = "Voice off"
LISTEN = "Speak a command"
LISTENING = "Listening…"
HELP = "Help"
PASSED_TITLE = "Verified"
PASSED_DETAIL = "You are verified. Thank you."
DENIED_TITLE = "Not verified"
DENIED_DETAIL = "We could not verify you. Please try again, or ask a member of staff."
LOCKED_TITLE = "Please wait"
LOCKED_DETAIL = "Too many attempts. The kiosk is available again in {minutes} min."
CAMERA_TITLE = "Camera not available"
CAMERA_DETAIL = "The camera is not working. We keep trying; please ask a member of staff if this stays."
MODEL_TITLE = "Out of service"
MODEL_DETAIL = "This kiosk cannot verify at the moment: {what}. Please ask a member of staff."
HELP_TEXT = ("Follow the picture and the spoken instruction. Hold each pose until the bar is full. "
             "Say \"more time\" or press M if you need longer, \"repeat\" or R to hear it again, "
             "\"cancel\" or C to stop.")
EXTENDED = "You have more time."
NO_MICROPHONE = "No microphone is available. Please use the buttons or the keys."
NOT_UNDERSTOOD = "Sorry, I did not understand. Say start, repeat, help, more time or cancel."
VOICE_INPUT_PROBLEM = "Voice commands are not available right now. Please use the buttons or the keys."
TRY_ANOTHER = "Let's try another one."
FACE_LOST = "We lost sight of your face. Please start again."
ADMIN_PIN_ENTRY = "Admin PIN: {dots}"
ADMIN_PIN_WRONG = "Wrong PIN. {n} tries left before the admin exit locks."
ADMIN_PIN_LOCKED = "Too many wrong PINs. The admin exit is locked for {minutes} min."

PROFILE_LABELS = {
    "standard": "Standard",
    "no_hands": "I can't use my hands",
    "no_expression": "I can't make facial expressions",
    "limited_head": "I can't turn my head",
    "no_sight": "I can't see the screen",
}


def all_source_strings() -> list[str]:
    """Every string the UI shows or speaks: this module's sentences and the challenge catalogue."""
    from ..session.catalogue import every_challenge
    found: list[str] = []
    for name, value in globals().items():
        if name.isupper() and isinstance(value, str) and name != "CONTEXT":
            found.append(value)
    found += PROFILE_LABELS.values()
    for c in every_challenge():
        found += [c.text, c.instruction]
    return list(dict.fromkeys(found))
