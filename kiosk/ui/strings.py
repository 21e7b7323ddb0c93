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
WELCOME_DETAIL = 'Choose what suits you: touch it or press its number. Then press Start or say "start".'
START = "Start"
LIVENESS_TITLE = "Look at the camera"
LIVENESS_DETAIL = "Keep your face in the frame and stay still for a moment."
CHALLENGE_OF = "Step {index} of {total}"
ATTEMPTS_LEFT = "Tries left: {n}"
SECONDS_LEFT = "{n} s"
DETECTED = "Hold it"  # short: it shares a row with the countdown and the count
WELL_DONE = "Well done. Next step coming."
NOT_THIS_TIME = "Not this time. Next step coming."
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
DENIED_POOR_CAPTURE = (
    "We could not see you well enough. Please face the light, come a little closer, "
    "and try again, or ask a member of staff."
)
LOCKED_TITLE = "Please wait"
LOCKED_DETAIL = "Too many attempts. The kiosk is available again in {minutes} min."
CAMERA_TITLE = "Camera not available"
CAMERA_DETAIL = "The camera is not working. We keep trying; please ask a member of staff if this stays."
MODEL_TITLE = "Out of service"
MODEL_DETAIL = "This kiosk cannot verify at the moment: {what}. Please ask a member of staff."
HELP_TEXT = (
    "Follow the picture and the spoken instruction, and hold each pose until the bar is full. "
    "The countdown waits while this help is shown. "
    'Press M or say "more time" if you need longer. Press R or say "repeat" to hear the '
    'instruction again. Press C or say "cancel" to stop. Press V to switch the voice on or off, '
    "and L to speak a command. Press H or touch Help again to go on."
)
PAUSED = "Paused"
EXTENDED = "You have more time."
NO_MORE_TIME = "No more time can be added for this step."
NO_MICROPHONE = "No microphone is available. Please use the buttons or the keys."
NOT_UNDERSTOOD = "Sorry, I did not understand. Say start, repeat, help, more time or cancel."
VOICE_INPUT_PROBLEM = "Voice commands are not available right now. Please use the buttons or the keys."
PROFILE_UNAVAILABLE = "That choice is not offered at this kiosk. Please choose another one, or ask a member of staff."
STARTING_NOW = "Starting now."
FACE_LOST = "We lost sight of your face. Please start again."
ADMIN_PIN_ENTRY = "Admin PIN: {dots}"
ADMIN_PIN_WRONG = "Wrong PIN. {n} tries left before the admin exit locks."
ADMIN_PIN_LOCKED = "Too many wrong PINs. The admin exit is locked for {minutes} min."

# The spoken welcome: every choice and how to pick it (key, touch, spoken word).
WELCOME_SPOKEN = "Welcome. Choose what suits you. Nobody is checked before you have had time to choose."
PROFILE_CHOICE = '{label}: press {key}, touch the button, or say "{word}".'
START_CHOICE = (
    'To start, press Space, Enter or S, touch Start, or say "{word}". '
    "If you choose nothing, the check starts by itself after a short pause."
)
ATTRACT_HELP = "Step in front of the camera, or press S, to begin. Press H for help at any time."
CANCEL_CONFIRM = 'Cancel the session? Press C again or say "yes". Press N or say "no" to go on.'
CANCEL_KEPT = "We go on."
YES_CANCEL = "Yes, cancel"
NO_GO_ON = "No, go on"
VOICE_OFF_CONFIRM = 'Switch the voice off? Press V or say "yes". Press N or say "no" to keep it.'
YES_VOICE_OFF = "Yes, switch it off"
NO_KEEP_VOICE = "No, keep it on"
PROFILE_CHOSEN = 'Chosen: {label}. To start, press Space or say "{word}".'
CANCELLED = "Session cancelled."
LOCKED_ATTRACT = "Too many attempts. Please wait {minutes} min, then step in front of the camera again."
TWO_FACES = "Only one person in front of the camera, please."
CAPTURE_HINTS = {
    # CaptureProblem value -> (icon, what to do). Shown and spoken during level 1.
    "dark": ("💡", "It is too dark. Please turn your face towards the light."),
    "backlit": ("🔆", "The light is behind you. Please turn so that the light falls on your face."),
    "overexposed": ("🕶️", "Too much light on your face. Please step out of the bright light."),
    "too_far": ("🔍", "You are too far away. Please come closer to the camera."),
    "blurred": ("⏸️", "The picture is blurred. Please hold still for a moment."),
    "out_of_frame": ("🖼️", "Your face is not fully in the picture. Please move to the middle."),
}
GESTURE_HINTS = {
    # GestureResult.rejected -> (icon, what to do), during a gesture challenge when the asked gesture
    # was seen but turned away for this reason (session.engine.GESTURE_HINT_REASONS). On screen the
    # asked gesture's own emoji stays: another hand's picture (a raised index finger for "fingers
    # up") would read as another gesture to someone who goes by the pictures.
    "palm turned": ("\u270b", "Turn the palm of your hand towards the camera."),
    "not upright": ("\u270b", "Point your fingers up, towards the ceiling."),
}
NOTICE_ICONS = {"two_faces": "👥", "help": "❓", "cancel": "🛑", "voice_off": "🔇", "locked": "⏳"}

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
    found += [text for _icon, text in CAPTURE_HINTS.values()]
    found += [text for _icon, text in GESTURE_HINTS.values()]
    for c in every_challenge():
        found += [c.text, c.instruction]
    return list(dict.fromkeys(found))
