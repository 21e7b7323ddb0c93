"""Synthetic hand poses from a kinematic hand model.

Used for the gestures no dataset here covers (four, mamma_mia, crossed_fingers), for the "none"
class (hand shapes the kiosk does not ask for, in named families: see NONE_FAMILIES) and as extra
variety for the others.

Model: a right hand as MediaPipe labels it "Right", in image axes (x right, y down, z negative
towards the camera), palm facing the camera, fingers up, wrist at the origin, wrist->middle-MCP = 1.
Each finger has a flexion fraction f (0 straight .. 1 fully curled, spread over MCP/PIP/DIP) and an
abduction angle; the thumb has in-plane angle, opposition, MCP and IP flexion. Per sample: bone
lengths jittered (a different "subject"), joint noise, a camera rotation, weak perspective and 2-D
landmark noise like MediaPipe's. Numpy only (runs in both venvs).
"""

from __future__ import annotations

import numpy as np

from kiosk.vision.gestures import hand_features, palm_tilt_degrees

D = np.pi / 180.0
PALM_NORMAL = np.array([0.0, 0.0, -1.0])  # palm faces the camera
IN_PLANE = np.array([0.0, 0.0, 1.0])  # rotating about it by + turns "up" towards +x (the little finger)

# wrist -> MCP positions (index on the image left for a MediaPipe "Right" hand facing the camera)
MCP = np.array([[-0.27, -1.00, 0.0], [0.0, -1.0, 0.0], [0.22, -0.92, 0.0], [0.42, -0.80, 0.0]])
FINGER_BONES = np.array([[0.45, 0.29, 0.23], [0.48, 0.31, 0.23], [0.44, 0.29, 0.22], [0.36, 0.23, 0.20]])
FINGER_BASE_ANGLE = np.array([-4.0, 0.0, 5.0, 12.0])  # degrees from "up", + towards the little finger
FINGER_SPREAD = np.array([-14.0, 0.0, 10.0, 22.0])  # extra angle at full abduction
THUMB_CMC = np.array([-0.36, -0.30, -0.05])
THUMB_BONES = np.array([0.43, 0.34, 0.28])  # CMC->MCP, MCP->IP, IP->tip
# Pitch (tipping the fingers towards or away from the camera) foreshortens the palm. Real rows reach
# palm width / length 1.1-1.6 (kinivi fists, open hands, pointers at the 90th-97th percentile);
# +-35 degrees alone never passes 0.9, so a share of the hands not aligned by thumb or fingertips
# (every class but like / dislike / mamma mia, "none" included) is tipped further.
PITCH_DEG = 35.0
TIPPED_SHARE = 0.35
TIPPED_DEG = (35.0, 70.0)

# The "none" class: hand shapes the kiosk does not ask for, in families that leave-one-shape-out
# validation holds out one at a time (train.py). Several were accepted as a drawn gesture by the
# model trained on relaxed hands only (three -> victory, grabbing -> hi_five, pinkie -> rock, ...).
NONE_FAMILIES: dict[str, str] = {
    "relaxed": "every finger loosely bent",
    "half_formed": "each finger stuck mid-way between straight and curled",
    "hanging": "open hand hanging down",
    "three_thumb": "thumb, index and middle finger out",
    "three_fingers": "index, middle and ring finger up, thumb in",
    "three_back": "middle, ring and little finger up, index curled under the thumb",
    "two_up": "index and middle finger up side by side (not a V)",
    "point": "index finger pointing sideways or at the camera",
    "claw": "grabbing: fingers bent at the middle joints, spread",
    "pinch": "thumb tip on the index tip, other fingers curled",
    "pinkie": "little finger only",
    "middle_finger": "middle finger only",
    "gun": "thumb and index out (gun, L, framing a photo), sometimes the middle finger too",
    "heart_half": "half of a two-hand heart: fingers arched together, thumb out",
    "partial_fist": "a fist with one or two fingers half out",
    "flat_edge": "flat hand, fingers together, edge-on or lying sideways (prayer, time-out)",
}
SYNTH_NONE_FAMILIES = list(NONE_FAMILIES)


def _rot(axis, angle):
    axis = np.asarray(axis, float)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    c, s, C = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    return np.array(
        [
            [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
            [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
            [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
        ]
    )


def _align(v, target):
    """Rotation taking direction v onto direction target."""
    v, target = v / np.linalg.norm(v), target / np.linalg.norm(target)
    axis = np.cross(v, target)
    s = np.linalg.norm(axis)
    if s < 1e-8:
        return np.eye(3) if v @ target > 0 else _rot([1, 0, 0] if abs(v[0]) < 0.9 else [0, 1, 0], np.pi)
    return _rot(axis, np.arctan2(s, v @ target))


def _chain(start, direction, bend_axis, lengths, angles):
    pts, p, d = [], np.asarray(start, float), np.asarray(direction, float)
    for length, angle in zip(lengths, angles, strict=True):
        d = _rot(bend_axis, angle) @ d
        p = p + length * d
        pts.append(p)
    return pts


class HandPoser:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def u(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    # --- finger and thumb states -------------------------------------------------------
    def extended(self):
        return self.u(-0.08, 0.15)

    def curled(self):
        return self.u(0.65, 1.05)

    def thumb_folded(self):  # across the palm / over the curled fingers
        return dict(alpha=self.u(-12, 15), oppose=self.u(40, 70), mcp=self.u(35, 70), ip=self.u(20, 60))

    def thumb_out(self, wide=False):
        a = (-85, -45) if wide else (-55, -20)
        return dict(alpha=self.u(*a), oppose=self.u(-5, 25), mcp=self.u(-5, 15), ip=self.u(-10, 20))

    def thumb_relaxed(self):
        return dict(alpha=self.u(-50, -15), oppose=self.u(5, 45), mcp=self.u(0, 35), ip=self.u(0, 35))

    # --- one pose -> (21, 3) landmarks in hand space ------------------------------------
    def build(self, flex, abduct, thumb, scales, jitter=True, joints=None):
        """joints: optional (4, 3) MCP/PIP/DIP degrees per finger instead of the flexion fractions."""
        pts = np.zeros((21, 3))
        j = 1.0 if jitter else 0.0
        mcp = MCP + j * self.rng.normal(0, 0.03, MCP.shape) * [1, 1, 0.5]
        for i in range(4):
            base = mcp[i] * scales["palm"]
            angle = (FINGER_BASE_ANGLE[i] + abduct[i]) * D
            d0 = _rot(IN_PLANE, angle) @ np.array([0.0, -1.0, 0.0])
            bend_axis = np.cross(d0, PALM_NORMAL)
            f = flex[i]
            # flexion spread over the joints (MCP, PIP, DIP), each with its own jitter
            base_deg = np.array([f * 85, f * 100, f * 60]) if joints is None else np.asarray(joints[i], float)
            angles = base_deg + j * np.array([self.u(-8, 8), self.u(-8, 8), self.u(-6, 6)])
            angles = np.clip(angles, -20, 120) * D
            bones = FINGER_BONES[i] * scales["fingers"][i]
            pts[5 + 4 * i] = base
            pts[6 + 4 * i : 9 + 4 * i] = _chain(base, d0, bend_axis, bones, angles)
        # thumb: in-plane angle alpha (0 = up, negative = away from the fingers), opposition
        # tilts it towards the palm side; flexion curls it towards the little finger and the palm.
        cmc = THUMB_CMC * scales["palm"]
        d0 = _rot(IN_PLANE, (-20 + thumb["alpha"]) * D) @ np.array([0.0, -1.0, 0.0])
        d0 = _rot(np.cross(d0, PALM_NORMAL), thumb["oppose"] * D) @ d0
        towards = np.array([0.75, 0.0, 0.0]) + 0.65 * PALM_NORMAL
        towards = towards - (towards @ d0) * d0
        bend_axis = np.cross(d0, towards / np.linalg.norm(towards))
        bones = THUMB_BONES * scales["thumb"]
        pts[1] = cmc
        pts[2:5] = _chain(cmc, d0, bend_axis, bones, np.array([0.0, thumb["mcp"], thumb["ip"]]) * D)
        return pts

    def scales(self):
        return {
            "palm": self.rng.normal(1, 0.05, 3).clip(0.85, 1.15) * [1, 1, 1],
            "fingers": self.rng.normal(1, 0.08, (4, 1)).clip(0.8, 1.2) * self.rng.normal(1, 0.05, (4, 3)),
            "thumb": self.rng.normal(1, 0.08) * self.rng.normal(1, 0.06, 3),
        }

    # --- gestures ------------------------------------------------------------------------
    def pose(self, gesture: str):
        """Returns (landmarks in hand space, orientation spec)."""
        e, c = self.extended, self.curled
        flex = [c(), c(), c(), c()]
        abduct = self.rng.normal(0, 3, 4)
        thumb = self.thumb_folded()
        orient = "front"
        if gesture in ("like", "dislike"):
            thumb = self.thumb_out(wide=True)
            orient = "thumb_up" if gesture == "like" else "thumb_down"
        elif gesture == "call_me":
            flex[3] = e()
            abduct[3] += self.u(5, 25)
            thumb = self.thumb_out(wide=True)
            orient = "thumb_up" if self.rng.random() < 0.8 else "tilted"
        elif gesture == "four":
            flex = [e(), e(), e(), e()]
            abduct += np.array(FINGER_SPREAD) * self.u(0, 0.8)
        elif gesture == "hi_five":
            flex = [e(), e(), e(), e()]
            abduct += np.array(FINGER_SPREAD) * self.u(0.3, 1.2)
            thumb = self.thumb_out(wide=True)
        elif gesture == "victory":
            flex[0], flex[1] = e(), e()
            abduct[0] -= self.u(6, 20)
            abduct[1] += self.u(4, 16)
        elif gesture == "crossed_fingers":
            flex[0], flex[1] = self.u(-0.05, 0.25), self.u(-0.05, 0.2)
            abduct[0] += self.u(7, 16)  # index leans over towards the little finger...
            abduct[1] -= self.u(8, 18)  # ...middle finger towards the thumb: they cross
        elif gesture == "one":
            flex[0] = e()
        elif gesture == "rock":
            flex[0], flex[3] = e(), e()
            abduct[3] += self.u(0, 15)
            if self.rng.random() < 0.3:
                thumb = self.thumb_out()
        elif gesture == "perfect":
            flex = [self.u(0.35, 0.65), self.u(-0.05, 0.3), self.u(-0.05, 0.35), self.u(-0.05, 0.4)]
            abduct += np.array(FINGER_SPREAD) * self.u(0.1, 1.0)
            thumb = self.thumb_relaxed()
        elif gesture == "mamma_mia":
            flex = [self.u(0.3, 0.6) for _ in range(4)]
            abduct += np.array([10, 0, -8, -16]) + self.rng.normal(0, 3, 4)
            thumb = dict(alpha=self.u(-20, 0), oppose=self.u(30, 60), mcp=self.u(0, 25), ip=self.u(0, 25))
            orient = "tips_up"
        elif gesture == "fist":
            orient = "any_side"
        elif gesture == "none":
            return self.none_pose()
        else:
            raise ValueError(gesture)
        pts = self.build(flex, abduct, thumb, self.scales())
        if gesture == "perfect":  # thumb tip meets the index tip
            self._touch_index(pts)
        if gesture == "mamma_mia":  # all five fingertips pinched together
            tips = [4, 8, 12, 16, 20]
            centre = pts[tips].mean(axis=0)
            k = self.u(0.7, 0.95)
            for t in tips:
                moved = pts[t] + k * (centre - pts[t])
                pts[t - 1] += 0.5 * (moved - pts[t])
                pts[t] = moved + self.rng.normal(0, 0.02, 3)
        return pts, orient

    def none_pose(self, family: str | None = None):
        """A hand shape the kiosk does not ask for, from one of NONE_FAMILIES (random if None).
        Returns (landmarks in hand space, orientation spec)."""
        if family is None:
            family = SYNTH_NONE_FAMILIES[int(self.rng.integers(len(SYNTH_NONE_FAMILIES)))]
        e, c, u = self.extended, self.curled, self.u
        flex = [c(), c(), c(), c()]
        abduct = self.rng.normal(0, 3, 4)
        thumb = self.thumb_folded() if self.rng.random() < 0.7 else self.thumb_relaxed()
        orient, joints, contact = "any_side", None, False
        if family == "hanging":  # open hand hanging down (resting on a shoulder, at the side)
            flex = [u(-0.05, 0.35) for _ in range(4)]
            abduct = self.rng.normal(0, 4, 4) + np.array(FINGER_SPREAD) * u(0, 0.8)
            thumb = self.thumb_relaxed() if self.rng.random() < 0.6 else self.thumb_out()
            orient = "hanging"
        elif family == "relaxed":  # every finger partly bent, a little more towards the little finger
            base = u(0.32, 0.52)
            flex = [base + u(-0.08, 0.08) + 0.04 * i for i in range(4)]
            thumb = self.thumb_relaxed()
            abduct = self.rng.normal(0, 4, 4) + np.array(FINGER_SPREAD) * u(0, 0.6)
        elif family == "half_formed":  # each finger independently stuck mid-way
            flex = [u(0.32, 0.58) for _ in range(4)]
            thumb = self.thumb_relaxed() if self.rng.random() < 0.6 else self.thumb_folded()
            abduct = self.rng.normal(0, 4, 4) + np.array(FINGER_SPREAD) * u(0, 0.6)
        elif family == "three_thumb":  # thumb, index, middle
            flex[0], flex[1] = e(), e()
            abduct[0] -= u(0, 18)
            abduct[1] += u(0, 14)
            thumb = self.thumb_out(wide=self.rng.random() < 0.5)
            orient = "front"
        elif family == "three_fingers":  # index, middle, ring; thumb in
            flex[0], flex[1], flex[2] = e(), e(), e()
            abduct[:3] += np.array(FINGER_SPREAD[:3]) * u(0, 1.2)
            orient = "front"
        elif family == "three_back":  # middle, ring, little; index curled under the thumb
            flex[1], flex[2], flex[3] = e(), e(), e()
            abduct[1:] += np.array(FINGER_SPREAD[1:]) * u(0, 1.1)
            thumb = self.thumb_folded()
            orient = "front"
        elif family == "two_up":  # index and middle up, side by side (not a V)
            flex[0], flex[1] = e(), e()
            abduct[0] += u(2, 7)
            abduct[1] -= u(0, 5)
            if self.rng.random() < 0.3:
                thumb = self.thumb_out()
            orient = "front" if self.rng.random() < 0.7 else "any_side"
        elif family == "point":  # index pointing sideways or at the camera
            flex[0] = e()
            thumb = self.thumb_relaxed() if self.rng.random() < 0.5 else self.thumb_folded()
            orient = "sideways" if self.rng.random() < 0.7 else "at_camera"
        elif family == "claw":  # grabbing: knuckles straight-ish, finger joints bent, spread
            flex = [0.5] * 4
            joints = np.c_[self.rng.uniform(-5, 30, 4), self.rng.uniform(50, 100, 4), self.rng.uniform(30, 70, 4)]
            abduct = self.rng.normal(0, 4, 4) + np.array(FINGER_SPREAD) * u(0.2, 1.2)
            thumb = dict(alpha=u(-60, -20), oppose=u(20, 60), mcp=u(10, 40), ip=u(10, 50))
        elif family == "pinch":  # thumb tip on the index tip, the other fingers curled
            flex[0] = u(0.3, 0.65)
            flex[1:] = [u(0.55, 1.05) for _ in range(3)]
            thumb = self.thumb_relaxed()
            contact = True
        elif family == "pinkie":  # little finger only
            flex[3] = e()
            abduct[3] += u(0, 20)
            orient = "front" if self.rng.random() < 0.7 else "any_side"
        elif family == "middle_finger":
            flex[1] = e()
            orient = "front" if self.rng.random() < 0.7 else "any_side"
        elif family == "gun":  # thumb and index out: gun, "L", thumb_index, framing a photo
            flex[0] = e()
            thumb = self.thumb_out(wide=True)
            if self.rng.random() < 0.3:
                flex[1] = e()  # the two-finger gun
        elif family == "heart_half":  # half of a two-hand heart: fingers arched together, thumb out
            flex = [u(0.3, 0.55) + u(-0.05, 0.05) for _ in range(4)]
            joints = np.c_[self.rng.uniform(20, 55, 4), self.rng.uniform(30, 70, 4), self.rng.uniform(10, 40, 4)]
            abduct = self.rng.normal(0, 3, 4)
            thumb = self.thumb_out(wide=True)
        elif family == "partial_fist":  # a fist with one or two fingers half out (a hook, a crossed X)
            k = int(self.rng.integers(3))
            out = [[0], [0, 1], [int(self.rng.integers(4))]][k]
            for i in out:
                flex[i] = u(0.25, 0.55)
        elif family == "flat_edge":  # flat hand, fingers together, edge-on or lying flat (prayer, time-out)
            flex = [u(-0.08, 0.2) for _ in range(4)]
            abduct = self.rng.normal(0, 2, 4) - np.array(FINGER_BASE_ANGLE) * u(0.5, 1.0)
            thumb = dict(alpha=u(-25, 0), oppose=u(-5, 20), mcp=u(0, 20), ip=u(0, 20))
            orient = "edge_on" if self.rng.random() < 0.5 else "sideways"
        else:
            raise ValueError(f"unknown none family {family!r}; known: {', '.join(SYNTH_NONE_FAMILIES)}")
        pts = self.build(flex, abduct, thumb, self.scales(), joints=joints)
        if contact:
            self._touch_index(pts)
        return pts, orient

    def _touch_index(self, pts):
        """Thumb tip onto the index tip (OK ring, pinch)."""
        tip = pts[8] + self.rng.normal(0, 0.03, 3)
        pts[4] = tip
        pts[3] = pts[2] + (tip - pts[2]) * 0.55 + self.rng.normal(0, 0.03, 3)

    # --- camera --------------------------------------------------------------------------
    def pitch(self):
        if self.rng.random() < TIPPED_SHARE:
            return self.u(*TIPPED_DEG) * (1 if self.rng.random() < 0.5 else -1)
        return self.u(-PITCH_DEG, PITCH_DEG)

    def orientation(self, pts, orient):
        u = self.u
        if orient in ("thumb_up", "thumb_down"):
            target = np.array([0.0, -1.0 if orient == "thumb_up" else 1.0, 0.0])
            R = _align(pts[4] - pts[2], target)
            R = _rot(target, (180 + u(-100, 100)) * D) @ R  # turn about the thumb: knuckles (most often), side, palm
            return _rot([0, 0, 1], u(-25, 25) * D) @ _rot([1, 0, 0], u(-20, 20) * D) @ R
        if orient == "tips_up":
            R = _align(pts[[8, 12, 16, 20]].mean(axis=0) - pts[0], np.array([0.0, -1.0, 0.0]))
            R = _rot([0, 1, 0], u(-120, 120) * D) @ R
            return _rot([0, 0, 1], u(-40, 40) * D) @ _rot([1, 0, 0], u(-25, 25) * D) @ R
        if orient == "hanging":  # fingers down, 135..225 degrees
            roll = 180 + u(-45, 45)
            return _rot([0, 0, 1], roll * D) @ _rot([0, 1, 0], u(-60, 60) * D) @ _rot([1, 0, 0], self.pitch() * D)
        if orient == "sideways":  # fingers level, pointing left or right
            roll = u(70, 115) * (1 if self.rng.random() < 0.5 else -1)
            yaw = u(-60, 60) + (180 if self.rng.random() < 0.35 else 0)
            return _rot([0, 0, 1], roll * D) @ _rot([0, 1, 0], yaw * D) @ _rot([1, 0, 0], self.pitch() * D)
        if orient == "at_camera":  # fingers towards the lens: foreshortened
            pitch = u(50, 80) * (1 if self.rng.random() < 0.5 else -1)
            return _rot([0, 0, 1], u(-60, 60) * D) @ _rot([0, 1, 0], u(-40, 40) * D) @ _rot([1, 0, 0], pitch * D)
        if orient == "edge_on":  # little-finger edge or thumb edge to the camera
            yaw = u(60, 88) * (1 if self.rng.random() < 0.5 else -1)
            return _rot([0, 0, 1], u(-40, 40) * D) @ _rot([0, 1, 0], yaw * D) @ _rot([1, 0, 0], u(-30, 30) * D)
        roll = {"tilted": 60, "any_side": 90}.get(orient, 50)  # visitors tilt their hands
        yaw = u(-50, 50)
        if orient == "any_side" and self.rng.random() < 0.35:
            yaw += 180  # back of the hand to the camera
        return _rot([0, 0, 1], u(-roll, roll) * D) @ _rot([0, 1, 0], yaw * D) @ _rot([1, 0, 0], self.pitch() * D)

    def sample(self, gesture: str, family: str | None = None) -> np.ndarray:
        """(21, 2) image-plane landmarks of one synthetic "Right" hand (pixel-proportional units).
        family: for "none", which of NONE_FAMILIES (random if None)."""
        return self.sample_with_depth(gesture, family)[:, :2]

    def sample_with_depth(self, gesture: str, family: str | None = None) -> np.ndarray:
        """(21, 3) landmarks as MediaPipe gives them: the image-plane x, y of `sample` (the same
        random draws) and a relative depth z on their scale. The depth is the hand's true one, without
        the error of MediaPipe's estimate."""
        pts, orient = self.none_pose(family) if gesture == "none" else self.pose(gesture)
        pts = pts + self.rng.normal(0, 0.015, pts.shape)
        pts = (self.orientation(pts, orient) @ pts.T).T
        distance = self.u(4.0, 12.0)  # weak perspective, in palm lengths
        out = pts * (distance / (distance + pts[:, 2:3]))
        out[:, 1] *= self.u(0.92, 1.08)  # pixel aspect / lens error
        out[:, :2] += self.rng.normal(0, self.u(0.005, 0.025), (len(out), 2))
        return out


def posed_hand(flex, thumb: dict, abduct=(0.0, 0.0, 0.0, 0.0), pitch: float = 0.0) -> np.ndarray:
    """A noise-free "Right" hand facing the camera, fingers up, as (21, 2) image landmarks.
    flex: 4 flexion fractions (index..little), thumb: alpha/oppose/mcp/ip in degrees,
    pitch: degrees the fingers are tipped towards (+) or away from (-) the camera."""
    poser = HandPoser(np.random.default_rng(0))
    unit = {"palm": np.ones(3), "fingers": np.ones((4, 3)), "thumb": np.ones(3)}
    pts = poser.build(list(flex), np.asarray(abduct, float), thumb, unit, jitter=False)
    return (_rot([1, 0, 0], pitch * D) @ pts.T).T[:, :2]


def generate(gestures, per_class: int, seed: int = 0):
    """Returns features (N, 42) float32 and the gesture name of each row ("none": a random family)."""
    X, names, _, _ = _generate([(g, None) for g in gestures], per_class, seed)
    return X, names


def generate_none(families, per_family: int, seed: int = 0):
    """ "none" hands family by family. Returns features (N, 42) float32 and the family of each row."""
    X, _, fams, _ = _generate([("none", f) for f in families], per_family, seed)
    return X, fams


def generate_none_with_tilt(families, per_family: int, seed: int = 0):
    """generate_none's hands (the same rows for the same seed) and each one's palm_tilt_degrees
    from its depth, as the runtime measures it on MediaPipe's landmarks."""
    X, _, fams, tilt = _generate([("none", f) for f in families], per_family, seed)
    return X, fams, tilt


def _generate(jobs, per_job: int, seed: int):
    rng = np.random.default_rng(seed)
    poser = HandPoser(rng)
    X, names, fams, tilt = [], [], [], []
    for g, family in jobs:
        for _ in range(per_job):
            pts = poser.sample_with_depth(g, family)
            t = palm_tilt_degrees(pts)
            tilt.append(np.nan if t is None else t)  # a mirror image keeps its tilt
            # half of them as a left hand: mirror the image and label it "Left" as MediaPipe would
            if rng.random() < 0.5:
                X.append(hand_features(pts[:, :2] * [-1, 1], "Left"))
            else:
                X.append(hand_features(pts[:, :2], "Right"))
            names.append(g)
            fams.append(family or "")
    return np.stack(X).astype(np.float32), np.array(names), np.array(fams), np.array(tilt)
