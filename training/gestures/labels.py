"""Canonical gesture labels and how each dataset's classes map onto them."""

from __future__ import annotations

NONE = "none"

# Output order of the model. Append new labels at the end of the gesture list, keep "none" last.
LABELS = [
    "like",
    "dislike",
    "call_me",
    "four",
    "hi_five",
    "victory",
    "perfect",
    "mamma_mia",
    "crossed_fingers",
    "fist",
    "one",
    "rock",
    NONE,
]

# Classes that no dataset here covers: trained and measured on synthetic poses only.
SYNTHETIC_ONLY = {"four", "mamma_mia", "crossed_fingers", NONE}

KINIVI_CLASSES = {0: "hi_five", 1: "fist", 2: "one", 3: "perfect"}  # open, close, pointer, OK

HAGRID_CLASSES = {
    0: "call_me",
    1: "dislike",
    2: "fist",
    3: "like",
    4: "one",  # "mute": index finger up in front of the lips, the same hand shape as "one"
    5: "perfect",  # "ok"
    6: "one",
    7: "hi_five",
    8: "victory",
    9: "rock",
    10: "hi_five",  # "stop": open palm, fingers together
    # "stop_inverted": the open hand turned round, fingers up, its back to the camera (all 125 rows
    # upright; MediaPipe's depth and handedness put the back, not the palm, to the camera in 124)
    11: "hi_five",
}
# HaGRID's own class names (the datasets README), kept as each row's group: several of them map onto
# one label, and the report gives each its own recall (an open hand held flat, "stop", is not "palm")
HAGRID_NAMES = {
    0: "call",
    1: "dislike",
    2: "fist",
    3: "like",
    4: "mute",
    5: "ok",
    6: "one",
    7: "palm",
    8: "peace",
    9: "rock",
    10: "stop",
    11: "stop_inverted",
}


# The kiosk asks for these with the fingers up. A hand lying sideways or pointing down (wrist ->
# middle knuckle more than SIDEWAYS_DEG from "up") is not the gesture: a finger pointing at
# something is not "one", a flat hand held level (time-out) is not an open hand held up. Such
# dataset rows are trained as "none" (family "real_not_upright"), and the synthetic "none" class
# holds hands pointing sideways and hanging down. Beyond DOWN_DEG the hand hangs down.
UPRIGHT = {"hi_five", "one", "four", "victory", "rock", "perfect", "crossed_fingers", "mamma_mia"}
SIDEWAYS_DEG = 70.0
DOWN_DEG = 120.0
REAL_NONE_FAMILY = "real_not_upright"

# What each gesture's instruction (kiosk/session/catalogue.py) says of the hand, per
# kiosk.vision.gestures.FINGER_MEASURES (index, middle, ring, little, palm): OUT a finger held out
# (a lower bound on how far it reaches), FOLDED a finger folded into the palm (an upper bound),
# FACING the palm turned to the camera (a lower bound on its width), None: the instruction leaves it
# free. RING: the OK sign's index finger, bent into the ring but not folded into the palm (a lower
# bound from data, but not "held out"). "In a V" holds up two fingers only, so the ring and little
# fingers are folded. The bounds themselves come from real hands or, where one dataset cannot show
# how people differ, from the words alone (training/gestures/finger_rule.py).
OUT, FOLDED, FACING, RING = "out", "folded", "facing", "ring"
INSTRUCTION_SHAPE: dict[str, tuple[str | None, ...]] = {
    "like": (FOLDED, FOLDED, FOLDED, FOLDED, None),  # "Make a fist and point your thumb up."
    "dislike": (FOLDED, FOLDED, FOLDED, FOLDED, None),
    "call_me": (FOLDED, FOLDED, FOLDED, OUT, None),  # "thumb and little finger out, fold the others"
    "four": (OUT, OUT, OUT, OUT, FACING),
    "hi_five": (OUT, OUT, OUT, OUT, FACING),  # "open hand, fingers spread and up, palm to the camera"
    "victory": (OUT, OUT, FOLDED, FOLDED, None),
    "perfect": (RING, OUT, OUT, OUT, None),  # "thumb and index in a ring, other fingers up"
    "fist": (FOLDED, FOLDED, FOLDED, FOLDED, None),
    "one": (OUT, FOLDED, FOLDED, FOLDED, None),  # "Hold up your index finger."
    "rock": (OUT, FOLDED, FOLDED, OUT, None),  # "index and little finger up, fold the others"
}
