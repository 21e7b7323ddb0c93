"""Every challenge the kiosk can ask for: id, on-screen words, emoji and spoken instruction, and
the one rule that decides whether a model may be trusted to judge it.

Vision only detects; what a label means to a person, and whether it is drawn, is decided here.
Strings are English source text; the UI translates them (resources/translations).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..modelcard import REAL, ModelCard


class Kind(str, enum.Enum):
    HEAD_POSE = "head_pose"
    GESTURE = "gesture"
    EMOTION = "emotion"


@dataclass(frozen=True)
class Challenge:
    kind: str  # a Kind value
    target: str  # left/right/up/down, a gesture label, an emotion label
    icon: str  # a large emoji shown on screen
    text: str  # short on-screen text (English source string; translated by the UI)
    instruction: str  # the spoken / longer instruction

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.target}"


# target -> (emoji, short text, spoken/written instruction)
# Head pose is defined in the person's own frame: "left" is the person's left. The screen shows a
# mirror view, so the arrow points the way the person sees themself move.
HEAD_POSES: dict[str, tuple[str, str, str]] = {
    "left": ("⬅️", "Turn your head left", "Turn your head to your left and hold it."),
    "right": ("➡️", "Turn your head right", "Turn your head to your right and hold it."),
    "up": ("⬆️", "Look up", "Tilt your head up, look at the ceiling, and hold it."),
    "down": ("⬇️", "Look down", "Tilt your head down, look at the floor, and hold it."),
}

GESTURES: dict[str, tuple[str, str, str]] = {
    "like": ("\U0001f44d", "Thumbs up", "Make a fist and point your thumb up."),
    "dislike": ("\U0001f44e", "Thumbs down", "Make a fist and point your thumb down."),
    "call_me": ("\U0001f919", "Call me", "Stretch out your thumb and little finger, fold the others."),
    "four": ("4\ufe0f\u20e3", "Four fingers", "Hold up four fingers, thumb folded in."),
    # "spread": an open hand held flat (fingers together) is taken for this far less often than a
    # spread one (HaGRID's photos: 71 % of flat hands, 100 % of spread ones; models/gesture_classifier.md)
    "hi_five": ("\u270b", "Open hand", "Hold up your open hand, fingers spread and up, palm to the camera."),
    "victory": ("\u270c\ufe0f", "Victory", "Hold up your index and middle finger in a V."),
    "perfect": ("\U0001f44c", "OK sign", "Touch your thumb and index finger in a ring, other fingers up."),
    "mamma_mia": ("\U0001f90c", "Mamma mia", "Pinch all your fingertips together, pointing up."),
    "crossed_fingers": ("\U0001f91e", "Fingers crossed", "Cross your middle finger over your index finger."),
    "fist": ("\u270a", "Fist", "Make a fist."),
    "one": ("\u261d\ufe0f", "One finger", "Hold up your index finger."),
    "rock": ("\U0001f918", "Rock on", "Hold up your index and little finger, fold the others."),
}

EMOTIONS: dict[str, tuple[str, str, str]] = {
    "happy": ("\U0001f604", "Happy", "Smile widely and show your teeth"),
    "surprise": ("\U0001f62e", "Surprised", "Raise your eyebrows high and open your mouth wide"),
    "neutral": ("\U0001f610", "Neutral", "Relax your face and look straight ahead, no smile"),
    "angry": ("\U0001f620", "Angry", "Frown hard, pull your eyebrows down and together, press your lips"),
    "sad": ("\U0001f622", "Sad", "Turn the corners of your mouth down and raise the inner eyebrows"),
    "fear": ("\U0001f628", "Afraid", "Open your eyes wide, raise your eyebrows and stretch your lips sideways"),
    "disgust": ("\U0001f922", "Disgusted", "Wrinkle your nose and raise your upper lip"),
}

CATALOGUE: dict[Kind, dict[str, tuple[str, str, str]]] = {
    Kind.HEAD_POSE: HEAD_POSES,
    Kind.GESTURE: GESTURES,
    Kind.EMOTION: EMOTIONS,
}


def challenge(kind: Kind | str, target: str) -> Challenge:
    """The catalogue entry for one challenge; KeyError for a kind or target it does not know."""
    kind = Kind(kind)
    icon, text, instruction = CATALOGUE[kind][target]
    return Challenge(kind.value, target, icon, text, instruction)


def every_challenge() -> list[Challenge]:
    return [challenge(kind, target) for kind, entries in CATALOGUE.items() for target in entries]


HEAD_POSE_CHALLENGES = tuple(challenge(Kind.HEAD_POSE, t) for t in HEAD_POSES)


def drawable(card: ModelCard, label: str, floor: float) -> tuple[bool, str]:
    """The one rule: a class is drawn only if its card shows it was validated on real data with a
    recall of at least `floor`. Returns (drawn, why not)."""
    if label not in card.labels:
        return False, "not a label of the model"
    if label in card.reject_labels:
        return False, "the model's reject class"
    recall = card.validated_recall.get(label)
    if recall is None:
        return False, "no validated recall in its model card"
    if recall < floor:
        return False, f"validated recall {recall:.2f} below {floor:.2f}"
    if card.validated_on.get(label) != REAL:
        return False, "validated on synthetic data only"
    return True, ""


@dataclass(frozen=True)
class DrawSource:
    """One model-judged kind: the model's card (None = the model could not be loaded, `problem`
    says why), the labels the site allows (None = every label in the catalogue) and the floor."""

    card: ModelCard | None
    floor: float
    allowed: Sequence[str] | None = None
    problem: str = ""


def build_pool(kinds: Iterable[str], sources: Mapping[Kind, DrawSource]) -> tuple[list[Challenge], list[str]]:
    """Every challenge the kiosk may draw, and a note for each one left out and why.

    Head poses need no model card (geometry only); gestures and emotions are drawn per class
    through `drawable`."""
    pool: list[Challenge] = []
    notes: list[str] = []
    for kind in (Kind(k) for k in kinds):
        if kind == Kind.HEAD_POSE:
            pool += HEAD_POSE_CHALLENGES
            continue
        source = sources.get(kind)
        if source is None or source.card is None:
            problem = source.problem if source else "no model"
            notes.append(f"{kind.value} challenges left out: {problem}")
            continue
        entries = CATALOGUE[kind]
        # Every class of the model that the catalogue can ask for, in the model's order, unless the
        # site chose a list (then a name the catalogue does not know is reported).
        wanted = (
            [label for label in source.card.labels if label in entries]
            if source.allowed is None
            else list(source.allowed)
        )
        for label in wanted:
            if label not in entries:
                notes.append(f"{kind.value} {label} left out: not in the challenge catalogue")
                continue
            ok, why = drawable(source.card, label, source.floor)
            if ok:
                pool.append(challenge(kind, label))
            else:
                notes.append(f"{kind.value} {label} left out: {why}")
    return pool, notes
