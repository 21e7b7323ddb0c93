"""Validated TOML configuration.

The defaults live in `default_config.toml`; a site file overrides any subset. Every key is
checked for type and range, unknown keys are rejected (a typo must not silently keep a
default), and the error names the key and the reason.
"""
from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and the reason."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"config key '{key}': {reason}")
        self.key = key
        self.reason = reason


def _check(pred: Callable[[Any], bool], reason: str):
    return {"check": (pred, reason)}


POSITIVE = _check(lambda v: v > 0, "must be greater than 0")
NON_NEGATIVE = _check(lambda v: v >= 0, "must be 0 or more")


def _one_of(*choices):
    return _check(lambda v: v in choices, f"must be one of {', '.join(map(repr, choices))}")


@dataclass(frozen=True)
class CameraConfig:
    source: str
    width: int = field(metadata=POSITIVE)
    height: int = field(metadata=POSITIVE)
    fps: int = field(metadata=POSITIVE)
    idle_fps: int = field(metadata=POSITIVE)
    hfov_deg: float = field(metadata=_check(lambda v: 20 <= v <= 170, "must be between 20 and 170 degrees"))
    reconnect_s: float = field(metadata=POSITIVE)


@dataclass(frozen=True)
class SessionConfig:
    welcome_timeout_s: float = field(metadata=POSITIVE)
    auto_start_s: float = field(metadata=NON_NEGATIVE)
    result_display_s: float = field(metadata=POSITIVE)
    face_lost_timeout_s: float = field(metadata=POSITIVE)


@dataclass(frozen=True)
class LivenessConfig:
    model: str
    real_frames: int = field(metadata=POSITIVE)
    spoof_frames: int = field(metadata=POSITIVE)
    timeout_s: float = field(metadata=POSITIVE)
    require_blink: bool
    score_ema: float = field(metadata=_check(lambda v: 0 < v <= 1, "must be above 0 and at most 1"))
    deny_on_flat: bool
    require_3d: bool


KINDS = ("head_pose", "gesture", "emotion")


@dataclass(frozen=True)
class ChallengesConfig:
    count: int = field(metadata=_check(lambda v: 1 <= v <= 50, "must be between 1 and 50"))
    frames_to_pass: int = field(metadata=POSITIVE)
    onset_frames: int = field(metadata=_check(lambda v: 0 <= v <= 50, "must be between 0 and 50"))
    time_limit_s: float = field(metadata=POSITIVE)
    attempts: int = field(metadata=POSITIVE)
    max_extensions: int = field(metadata=NON_NEGATIVE)
    kinds: list[str] = field(metadata=_check(
        lambda v: len(v) > 0 and all(k in KINDS for k in v), f"must be a non-empty list of {', '.join(KINDS)}"))
    gap_s: list[float] = field(metadata=_check(
        lambda v: len(v) == 2 and 0 <= v[0] <= v[1], "must be [min, max] seconds with 0 <= min <= max"))


@dataclass(frozen=True)
class HeadPoseConfig:
    yaw_deg: float = field(metadata=_check(lambda v: 5 <= v <= 60, "must be between 5 and 60 degrees"))
    pitch_deg: float = field(metadata=_check(lambda v: 5 <= v <= 60, "must be between 5 and 60 degrees"))
    max_other_deg: float = field(metadata=_check(lambda v: 5 <= v <= 90, "must be between 5 and 90 degrees"))


@dataclass(frozen=True)
class GestureConfig:
    model: str
    min_confidence: float = field(metadata=_check(lambda v: 0 <= v <= 1, "must be between 0 and 1"))
    min_validated_recall: float = field(metadata=_check(lambda v: 0 <= v <= 1, "must be between 0 and 1"))


EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True)
class EmotionConfig:
    model: str
    allowed: list[str] = field(metadata=_check(
        lambda v: all(e in EMOTIONS for e in v), f"must be a list of {', '.join(EMOTIONS)}"))
    min_margin: float = field(metadata=_check(lambda v: 0 <= v <= 1, "must be between 0 and 1"))
    min_validated_recall: float = field(metadata=_check(lambda v: 0 <= v <= 1, "must be between 0 and 1"))


@dataclass(frozen=True)
class UiConfig:
    fullscreen: bool
    allow_exit: bool
    admin_pin: str = field(metadata=_check(lambda v: v == "" or (v.isdigit() and len(v) >= 4),
                                           "must be empty or at least 4 digits"))
    language: str = field(metadata=_one_of("en", "de"))
    voice: bool
    high_contrast: bool


@dataclass(frozen=True)
class SpeechConfig:
    azure_region: str
    azure_key_file: str
    timeout_s: float = field(metadata=_check(lambda v: 0 < v <= 10, "must be between 0 and 10 seconds"))
    cache_dir: str


@dataclass(frozen=True)
class SecurityConfig:
    max_failures: int = field(metadata=POSITIVE)
    window_s: float = field(metadata=POSITIVE)
    lockout_s: float = field(metadata=NON_NEGATIVE)
    state_path: str  # "" = lockouts do not survive a restart


@dataclass(frozen=True)
class VerdictConfig:
    key_path: str
    hook: str = field(metadata=_check(
        lambda v: v == "" or v.startswith(("file:", "command:", "http://", "https://")),
        "must be empty, file:PATH, command:ARGV, or an http(s):// URL"))
    device_id: str


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
    root: Path = PROJECT_ROOT

    def path(self, value: str) -> Path:
        """Resolve a configured path: ~ expanded, relative paths against the project root."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _coerce(key: str, value: Any, typ: Any) -> Any:
    origin = typing.get_origin(typ)
    if origin is list:
        (item_type,) = typing.get_args(typ)
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list of {_TYPE_NAMES[item_type]}s, got {value!r}")
        return [_coerce(f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # camera.source = 0 is natural to write
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(key, f"must be {_TYPE_NAMES[typ]}, got {value!r}")
    return value


def _build(section_cls, name: str, data: dict) -> Any:
    hints = typing.get_type_hints(section_cls)
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{name}.{key}", f"unknown key (known: {', '.join(fields)})")
    values = {}
    for fname, f in fields.items():
        key = f"{name}.{fname}"
        if fname not in data:
            raise ConfigError(key, "missing")
        value = _coerce(key, data[fname], hints[fname])
        check = f.metadata.get("check")
        if check and not check[0](value):
            raise ConfigError(key, f"{check[1]}, got {value!r}")
        values[fname] = value
    return section_cls(**values)


def _merge(base: dict, override: dict, prefix: str = "") -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value, f"{prefix}{key}.")
        elif key not in base:
            raise ConfigError(f"{prefix}{key}", "unknown key")
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None


def config_from_dict(data: dict, root: Path = PROJECT_ROOT) -> Config:
    defaults = _read_toml(DEFAULT_CONFIG)
    merged = _merge(defaults, data)
    hints = typing.get_type_hints(Config)
    sections = {}
    for f in dataclasses.fields(Config):
        if f.name == "root":
            continue
        if not isinstance(merged.get(f.name), dict):
            raise ConfigError(f.name, "must be a table")
        sections[f.name] = _build(hints[f.name], f.name, merged[f.name])
    return Config(root=root, **sections)


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
