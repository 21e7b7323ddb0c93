"""Validated TOML configuration.

The defaults live in `default_config.toml`; a site file overrides any subset. Every key is
checked for type and range (every number finite and bounded), unknown keys are rejected (a typo
must not silently keep a default), and one ConfigError names every bad key and its reason.
Paths are resolved once, here, by `resolve_path` (relative to the project or bundle root), and
the verdict hook is parsed by the code that delivers verdicts: what passes here is what `run` uses.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """One or more configuration values are wrong; the message names every key and its reason.

    `key` and `reason` are the first problem's; `problems` lists them all, so an operator fixes
    a config in one pass instead of one restart per mistake.
    """

    def __init__(self, key: str, reason: str, problems: list[tuple[str, str]] | None = None):
        self.problems: list[tuple[str, str]] = list(problems) if problems else [(key, reason)]
        self.key, self.reason = self.problems[0]
        lines = [f"config key '{k}': {r}" for k, r in self.problems]
        text = lines[0] if len(lines) == 1 else f"{len(lines)} config problems:\n  " + "\n  ".join(lines)
        super().__init__(text)

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.problems]


def _check(pred: Callable[[Any], bool], reason: str) -> dict[str, Any]:
    return {"check": (pred, reason)}


def _between(lo: float, hi: float, unit: str = "") -> dict[str, Any]:
    """A closed range; with the finiteness of every number this bounds what a timer or a
    counter can be handed (1e306 seconds would overflow Qt's millisecond timers)."""
    suffix = f" {unit}" if unit else ""
    return _check(lambda v: lo <= v <= hi, f"must be between {lo:g} and {hi:g}{suffix}")


def _above(lo: float, hi: float, unit: str = "") -> dict[str, Any]:
    suffix = f" {unit}" if unit else ""
    return _check(lambda v: lo < v <= hi, f"must be above {lo:g} and at most {hi:g}{suffix}")


PATH: dict[str, Any] = {"path": True}  # resolved by resolve_path() when the config is loaded
SECRET: dict[str, Any] = {"secret": True}  # an error names the key, never the value (it reaches logs)
NOT_EMPTY = _check(lambda v: bool(v.strip()), "must not be empty")
DAY_S = 86_400.0


def _one_of(*choices: str) -> dict[str, Any]:
    return _check(lambda v: v in choices, f"must be one of {', '.join(map(repr, choices))}")


def resolve_path(root: Path, value: str) -> Path:
    """The one path resolver: ~ expanded, relative paths against the project (or bundle) root,
    never against the working directory."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


@dataclass(frozen=True)
class CameraConfig:
    source: str = field(metadata={**NOT_EMPTY, "resolve": lambda value, root: _resolve_source(value, root)})
    width: int = field(metadata=_between(16, 7680, "pixels"))
    height: int = field(metadata=_between(16, 4320, "pixels"))
    fps: int = field(metadata=_between(1, 240, "frames per second"))
    idle_fps: int = field(metadata=_between(1, 240, "frames per second"))
    hfov_deg: float = field(metadata=_between(20, 170, "degrees"))
    reconnect_s: float = field(metadata=_between(0.1, 600, "seconds"))
    frozen_after_s: float = field(metadata=_between(0.5, 600, "seconds"))


@dataclass(frozen=True)
class SessionConfig:
    welcome_timeout_s: float = field(metadata=_between(1, 3600, "seconds"))
    auto_start_s: float = field(metadata=_between(0, 600, "seconds"))
    result_display_s: float = field(metadata=_between(0.5, 600, "seconds"))
    face_lost_timeout_s: float = field(metadata=_between(0.5, 600, "seconds"))
    bystander_face_share: float = field(metadata=_between(0, 1, "of the largest face's area"))


@dataclass(frozen=True)
class LivenessConfig:
    model: str = field(metadata={**NOT_EMPTY, **PATH})
    real_frames: int = field(metadata=_between(1, 10_000, "frames"))
    spoof_frames: int = field(metadata=_between(1, 10_000, "frames"))
    timeout_s: float = field(metadata=_between(1, 3600, "seconds"))
    require_blink: bool
    score_ema: float = field(metadata=_above(0, 1))
    deny_on_flat: bool
    require_3d: bool
    still_noise_floor: float = field(metadata=_above(0, 50, "grey levels"))
    still_window_frames: int = field(metadata=_between(2, 250, "frames"))


KINDS = ("head_pose", "gesture", "emotion")


@dataclass(frozen=True)
class ChallengesConfig:
    count: int = field(metadata=_between(1, 50))
    frames_to_pass: int = field(metadata=_between(1, 1000, "frames"))
    onset_frames: int = field(metadata=_between(0, 50, "frames"))
    time_limit_s: float = field(metadata=_between(1, 600, "seconds"))
    attempts: int = field(metadata=_between(1, 100))
    max_extensions: int = field(metadata=_between(0, 100))
    kinds: list[str] = field(
        metadata=_check(
            lambda v: len(v) > 0 and all(k in KINDS for k in v), f"must be a non-empty list of {', '.join(KINDS)}"
        )
    )
    gap_s: list[float] = field(
        metadata=_check(
            lambda v: len(v) == 2 and 0 <= v[0] <= v[1] <= 60, "must be [min, max] seconds with 0 <= min <= max <= 60"
        )
    )


@dataclass(frozen=True)
class HeadPoseConfig:
    yaw_deg: float = field(metadata=_between(5, 60, "degrees"))
    pitch_deg: float = field(metadata=_between(5, 60, "degrees"))
    max_other_deg: float = field(metadata=_between(5, 90, "degrees"))


@dataclass(frozen=True)
class GestureConfig:
    model: str = field(metadata={**NOT_EMPTY, **PATH})
    min_confidence: float = field(metadata=_between(0, 1))
    min_validated_recall: float = field(metadata=_between(0, 1))


EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True)
class EmotionConfig:
    model: str = field(metadata={**NOT_EMPTY, **PATH})
    allowed: list[str] = field(
        metadata=_check(lambda v: all(e in EMOTIONS for e in v), f"must be a list of {', '.join(EMOTIONS)}")
    )
    min_margin: float = field(metadata=_between(0, 1))
    min_validated_recall: float = field(metadata=_between(0, 1))


MIN_PIN_DIGITS = 6


@dataclass(frozen=True)
class UiConfig:
    fullscreen: bool
    allow_exit: bool
    admin_pin: str = field(
        metadata={
            **_check(
                lambda v: v == "" or (v.isascii() and v.isdigit() and len(v) >= MIN_PIN_DIGITS),
                f"must be empty or at least {MIN_PIN_DIGITS} digits",
            ),
            **SECRET,
        }
    )
    language: str = field(metadata=_one_of("en", "de"))
    voice: bool


@dataclass(frozen=True)
class SpeechConfig:
    azure_region: str
    azure_key_file: str = field(metadata=PATH)
    timeout_s: float = field(metadata=_above(0, 10, "seconds"))
    cache_dir: str = field(metadata={**NOT_EMPTY, **PATH})


@dataclass(frozen=True)
class SecurityConfig:
    max_failures: int = field(metadata=_between(1, 1000))
    window_s: float = field(metadata=_between(1, 7 * DAY_S, "seconds"))
    lockout_s: float = field(metadata=_between(0, DAY_S, "seconds"))
    state_path: str = field(metadata=PATH)  # "" = lockouts do not survive a restart


@dataclass(frozen=True)
class MetricsConfig:
    # /metrics (Prometheus text format) and /health, on 127.0.0.1 only; 0 = off
    port: int = field(metadata=_between(0, 65535))


@dataclass(frozen=True)
class HealthConfig:
    # At least a few seconds: the first hand-model load holds the camera worker that long.
    stale_after_s: float = field(metadata=_between(3, 600, "seconds"))
    storm_count: int = field(metadata=_between(2, 1_000_000))
    storm_window_s: float = field(metadata=_between(1, DAY_S, "seconds"))


@dataclass(frozen=True)
class VerdictConfig:
    key_path: str = field(metadata={**NOT_EMPTY, **PATH})
    hook: str = field(metadata={"resolve": lambda value, root: _resolve_hook(value, root)})
    device_id: str = field(
        metadata=_check(
            lambda v: v.strip() == v and 0 < len(v) <= 128 and v.isprintable(),
            "must be 1 to 128 printable characters without leading or trailing spaces "
            "(every verdict names its device; an empty id would make every record unsignable)",
        )
    )
    valid_s: float = field(metadata=_between(10, DAY_S, "seconds"))
    nonce_file: str = field(metadata=PATH)  # "" = the host sends no nonce


@dataclass(frozen=True)
class Config:
    camera: CameraConfig
    session: SessionConfig
    liveness: LivenessConfig
    challenges: ChallengesConfig
    head_pose: HeadPoseConfig
    gesture: GestureConfig
    emotion: EmotionConfig
    ui: UiConfig
    speech: SpeechConfig
    security: SecurityConfig
    verdict: VerdictConfig
    metrics: MetricsConfig
    health: HealthConfig
    root: Path = PROJECT_ROOT

    def path(self, value: str) -> Path:
        """Resolve a configured path with the one resolver (paths loaded from a config are
        already resolved; this keeps a relative value from code consistent with them)."""
        return resolve_path(self.root, value)


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _coerce(key: str, value: Any, typ: Any) -> Any:
    origin = typing.get_origin(typ)
    if origin is list:
        (item_type,) = typing.get_args(typ)
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list of {_TYPE_NAMES[item_type]}s, got {value!r}")
        return [_coerce(f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if typ is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # camera.source = 0 is natural to write
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(key, f"must be {_TYPE_NAMES[typ]}, got {value!r}")
    if typ is float and not math.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    return value


def _build(section_cls: Any, name: str, data: dict[str, Any], root: Path, problems: list[tuple[str, str]]) -> Any:
    """The section, or None with every problem of it appended to `problems`."""
    hints = typing.get_type_hints(section_cls)
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    count = len(problems)
    for key in data:
        if key not in fields:
            problems.append((f"{name}.{key}", f"unknown key (known: {', '.join(fields)})"))
    values = {}
    for fname, f in fields.items():
        key = f"{name}.{fname}"
        if fname not in data:
            problems.append((key, "missing"))
            continue
        secret = f.metadata.get("secret", False)
        try:
            value = _coerce(key, data[fname], hints[fname])
        except ConfigError as exc:
            problems.append((exc.key, exc.reason.split(", got ")[0] if secret else exc.reason))
            continue
        check = f.metadata.get("check")
        if check and not check[0](value):
            problems.append((key, check[1] if secret else f"{check[1]}, got {value!r}"))
            continue
        if f.metadata.get("path") and value:
            value = str(resolve_path(root, value))
        if "resolve" in f.metadata:
            try:
                value = f.metadata["resolve"](value, root)
            except ValueError as exc:
                problems.append((key, str(exc)))
                continue
        values[fname] = value
    return section_cls(**values) if len(problems) == count else None


def _merge(base: dict, override: dict, problems: list[tuple[str, str]], prefix: str = "") -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value, problems, f"{prefix}{key}.")
        elif key not in base:
            problems.append((f"{prefix}{key}", "unknown key"))
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read: {exc}") from None


def source_is_path(source: str) -> bool:
    """Whether a camera source names a video file or image folder, not a camera index or a stream URL."""
    return not (source.isdigit() or "://" in source)


def _resolve_source(source: str, root: Path) -> str:
    """A camera index or a stream URL as written; a video file or image folder through the one path
    resolver, so a site config names the same file whatever directory the service starts in."""
    return str(resolve_path(root, source)) if source_is_path(source) else source


def _resolve_hook(hook: str, root: Path) -> str:
    """The hook checked by the parse_hook() delivery uses (so a hook that would fail at the first
    verdict fails here, ValueError), with a relative file: target through the one path resolver."""
    from .verdict import parse_hook  # stdlib only; verdict knows nothing of the config

    kind, target = parse_hook(hook)
    return "file:" + str(resolve_path(root, str(target))) if kind == "file" else hook


def shipped_defaults() -> Config:
    """default_config.toml alone: for the parts that tests and tools build without a site config
    (the values live in that file only, never repeated in code)."""
    return config_from_dict({})


def config_from_dict(data: dict, root: Path = PROJECT_ROOT) -> Config:
    """The typed config from defaults + `data`; ConfigError lists every problem at once."""
    problems: list[tuple[str, str]] = []
    defaults = _read_toml(DEFAULT_CONFIG)
    merged = _merge(defaults, data, problems)
    hints = typing.get_type_hints(Config)
    sections = {}
    for f in dataclasses.fields(Config):
        if f.name == "root":
            continue
        if not isinstance(merged.get(f.name), dict):
            problems.append((f.name, "must be a table"))
            continue
        sections[f.name] = _build(hints[f.name], f.name, merged[f.name], root, problems)
    if not problems:
        problems += _impossible_timings(sections)
    if problems:
        raise ConfigError("", "", problems)
    return Config(root=root, **sections)


def _impossible_timings(sections: dict[str, Any]) -> list[tuple[str, str]]:
    """Values that are each valid but together let nobody pass: a run of frames that takes longer,
    at the camera's frame rate, than the time allowed for it. Every person would be denied."""
    fps = sections["camera"].fps
    live, ch = sections["liveness"], sections["challenges"]
    problems = []
    level1_s = live.real_frames / fps
    if level1_s >= live.timeout_s:
        problems.append(
            (
                "liveness.real_frames",
                f"{live.real_frames} frames at camera.fps {fps} take {level1_s:.1f} s, not less than "
                f"liveness.timeout_s ({live.timeout_s:g} s): nobody could pass level 1",
            )
        )
    hold_s = (ch.onset_frames + ch.frames_to_pass) / fps
    if hold_s >= ch.time_limit_s:
        problems.append(
            (
                "challenges.frames_to_pass",
                f"{ch.onset_frames} onset + {ch.frames_to_pass} frames at camera.fps {fps} take {hold_s:.1f} s, "
                f"not less than challenges.time_limit_s ({ch.time_limit_s:g} s): nobody could pass a challenge",
            )
        )
    return problems


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Defaults, then the site file (if any), then overrides (e.g. from the command line)."""
    data = _read_toml(Path(path)) if path else {}
    if overrides:
        data = _merge_loose(data, overrides)
    return config_from_dict(data)


def _merge_loose(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge_loose(out.get(key, {}), value) if isinstance(value, dict) else value
    return out
