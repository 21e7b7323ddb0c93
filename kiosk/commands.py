"""What a person can ask of the kiosk, by key, touch or voice: one vocabulary for the window,
the voice recogniser and the controller (each command means one thing on every screen)."""

from __future__ import annotations

import enum


class Command(str, enum.Enum):
    START = "start"
    REPEAT = "repeat"
    HELP = "help"
    MORE_TIME = "more_time"
    VOICE = "voice"  # the voice key / button: switch speech on or off
    VOICE_ON = "voice_on"
    VOICE_OFF = "voice_off"
    CANCEL = "cancel"
    LISTEN = "listen"  # the listen key / button: hear one spoken command
    CONFIRM = "confirm"  # "yes": answers a confirmation question, nothing else
    DENY = "deny"  # "no"
    # The welcome screen's accessibility choices; the value after "profile:" is the engine's
    # profile name. Acted on only while the person is choosing.
    PROFILE_STANDARD = "profile:standard"
    PROFILE_NO_HANDS = "profile:no_hands"
    PROFILE_NO_EXPRESSION = "profile:no_expression"
    PROFILE_LIMITED_HEAD = "profile:limited_head"
    PROFILE_NO_SIGHT = "profile:no_sight"

    @classmethod
    def for_profile(cls, profile: str) -> Command:
        return cls(f"profile:{profile}")

    @property
    def profile(self) -> str | None:
        """The profile this command chooses, or None for the other commands."""
        return self.value.split(":", 1)[1] if self.value.startswith("profile:") else None

    @property
    def destructive(self) -> bool:
        """True for commands whose effect a misheard word must not cause on its own (ending
        the session, silencing the kiosk for a blind user): ask first, act on CONFIRM."""
        return self in (Command.CANCEL, Command.VOICE_OFF)

    @property
    def answer(self) -> bool:
        """True for CONFIRM and DENY: only meaningful while a confirmation is pending."""
        return self in (Command.CONFIRM, Command.DENY)


# Given by a key or a button only: a toggle means nothing to a listener that cannot see the
# state, and "listen" is how a spoken command begins. Every other command has spoken phrases.
NOT_SPOKEN = frozenset({Command.VOICE, Command.LISTEN})
