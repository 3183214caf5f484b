"""The catalogue of plays: what each one is for and when it fits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class PlayInfo:
    """Describe one play. ``insertable`` plays can go into the draft; others are shown only."""

    id: str
    title: str
    idea: str
    when: str
    insertable: bool
    needs_date: bool
    channel: str = "email"  # "email", "phone" (a script to read) or "note" (internal only)


_PLAYS = (
    PlayInfo(
        "step_back", "Step-back closure",
        "Take the pressure off: say plainly that it is fine if they decided not to go ahead, "
        "and make it easy for them to say so.",
        "The prospect went silent past the threshold.",
        insertable=True, needs_date=False),
    PlayInfo(
        "apology_feedback", "Apology and feedback",
        "Own a possible mistake and ask for honest feedback, clearly not about moving the "
        "deal forward.",
        "The prospect went silent, especially after several follow-ups without an answer.",
        insertable=True, needs_date=False),
    PlayInfo(
        "apology_call", "Apology and feedback (phone script)",
        "The same apology and request for feedback, said on the phone. A call beats an email; "
        "a long voicemail is the weakest option.",
        "As for the apology email, when you can reach them by phone.",
        insertable=False, needs_date=False, channel="phone"),
    PlayInfo(
        "where_from_here", "Where do you think we should go from here?",
        "Hand them the steering wheel with one open question.",
        "Any stalled thread.",
        insertable=True, needs_date=False),
    PlayInfo(
        "getback_date", "Scheduled get-back date",
        "Agree a day and time to reconnect, to reach an answer either way rather than to "
        "close. stepback stays quiet on the thread until then and reminds you on the day.",
        "You want closure without chasing.",
        insertable=True, needs_date=True),
    PlayInfo(
        "truth_question", "Truth question",
        "Ask what else you could do so they feel comfortable, before the conversation ends.",
        "The prospect is still talking to you.",
        insertable=True, needs_date=False),
    PlayInfo(
        "back_to_goal", "Back to what you wanted",
        "Move the attention from your deal back to their own goal and the value they asked for.",
        "The prospect cooled off after showing interest.",
        insertable=True, needs_date=False),
    PlayInfo(
        "cold_file", "Park in the cold file",
        "Stop chasing, note why, and set a revisit date months out, when priorities or the "
        "people deciding may have changed. Nothing is sent to the prospect.",
        "The prospect said no or the relationship needs a rest.",
        insertable=False, needs_date=True, channel="note"),
)

PLAYS: Mapping[str, PlayInfo] = MappingProxyType({play.id: play for play in _PLAYS})

# Reasons a rep can pick when parking a thread in the cold file (id -> label).
COLD_FILE_REASONS: Mapping[str, str] = MappingProxyType({
    "said_no": "They said no for now",
    "wrong_person": "Not the person who decides",
    "timing": "Bad timing on their side",
    "budget": "No budget this cycle",
    "chose_other": "They chose another option",
    "relationship": "The relationship needs a rest",
    "no_answer": "No answer after several tries",
})


class UnknownPlayError(ValueError):
    """Raised for a play id that is not in ``PLAYS``."""

    def __init__(self, play_id: str) -> None:
        self.play_id = play_id
        super().__init__(f"unknown play {play_id!r}; known plays: {', '.join(PLAYS)}")


def play_info(play_id: str) -> PlayInfo:
    """Return the ``PlayInfo`` for ``play_id`` or raise ``UnknownPlayError``."""
    try:
        return PLAYS[play_id]
    except (KeyError, TypeError):
        raise UnknownPlayError(str(play_id)) from None
