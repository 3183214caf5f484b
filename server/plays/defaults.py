"""Default template text for every play (body only; the reply keeps the thread's subject).

Written for stepback. Admins can replace these per team. Every variant must pass the
pressure check with no findings (tests enforce it). The defaults avoid {{company}} and
{{subject}} in messages to the prospect because those can be empty (free-mail addresses,
missing subjects) and would leave a gap in the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_STEP_BACK = (
    "Hi {{first_name}},\n\n"
    "It may be that this stopped being a priority on your side, and that is completely fine. "
    "If you have decided not to go ahead, a one-line reply saying so is welcome, and I won't "
    "try to talk you out of it.",

    "Hi {{first_name}},\n\n"
    "I may have misread how well this fits what you are working on. If the answer is no, or "
    "not now, I would honestly rather hear that than keep guessing. Either way, thank you for "
    "the time you have already given this.",

    "Hi {{first_name}},\n\n"
    "No pressure from my side. If things have changed and this is no longer something you "
    "want to pursue, feel free to tell me straight, and I will close it out on my end.",
)

_APOLOGY_FEEDBACK = (
    "Hi {{first_name}},\n\n"
    "Looking back, I think I may have dropped the ball somewhere along the way, and I am sorry "
    "if I did. This is not about moving anything forward: I would simply value your honest "
    "view of what I could have done better.",

    "Hi {{first_name}},\n\n"
    "I suspect something on my side did not land well, and I would like to own that. Would "
    "you be willing to tell me, candidly, what put you off? I am asking so I can do better, "
    "not to reopen the conversation.",

    "Hi {{first_name}},\n\n"
    "If I pushed too hard or missed what mattered to you, I apologise. Your honest feedback "
    "would help me, whatever it is, and there is no sales agenda behind the question.",
)

_APOLOGY_CALL = (
    "Hi {{first_name}}, it's {{rep_name}}. Is now an okay moment, or would another time "
    "suit you better?\n\n"
    "I'm calling because I think I may have let you down somewhere, and I wanted to say "
    "sorry. I'm not calling to push the deal along. I'd like to hear, honestly, what I could "
    "have done differently.\n\n"
    "(Then listen. Thank them for whatever they tell you.)",

    "Hi {{first_name}}, {{rep_name}} here. I'll keep this short.\n\n"
    "I have a feeling I got something wrong along the way, and I'd rather own that than "
    "pretend otherwise. Would you tell me what didn't work for you? This isn't a sales call.\n\n"
    "(If it goes to voicemail, leave only your name and number. Don't pitch on the "
    "recording.)",
)

_WHERE_FROM_HERE = (
    "Hi {{first_name}},\n\n"
    "Where do you think we should go from here?",

    "Hi {{first_name}},\n\n"
    "You know your situation far better than I do, so I will ask you directly: where do you "
    "think we should go from here? Every answer is a good one, including \"nowhere\".",

    "Hi {{first_name}},\n\n"
    "I would rather let you steer. Where would you like to take this from here, if anywhere?",
)

_GETBACK_DATE = (
    "Hi {{first_name}},\n\n"
    "Rather than leave this open-ended, could we pick a time to reconnect? How about "
    "{{proposed_date}} at {{proposed_time}}? Not to close anything, only to bring this to a "
    "clear end one way or the other. If that slot does not work, name one that does.",

    "Hi {{first_name}},\n\n"
    "Would it help to put a date on this? I could get back to you on {{proposed_date}} at "
    "{{proposed_time}}, simply to settle it either way, yes or no. Until then I will stay "
    "out of your inbox.",

    "Hi {{first_name}},\n\n"
    "Here is a thought: let's agree to talk again on {{proposed_date}} at {{proposed_time}}. "
    "The point is not to sign anything; it is so we both know where this stands. Happy to "
    "move it if another day suits you better.",
)

_TRUTH_QUESTION = (
    "Hi {{first_name}},\n\n"
    "Before we go further, is there anything else I could do on my end so you feel "
    "comfortable, whatever you decide?",

    "Hi {{first_name}},\n\n"
    "Is there anything you have not felt able to raise yet? I would much rather hear a "
    "concern now than find out later that something was bothering you.",

    "Hi {{first_name}},\n\n"
    "One honest question: what would need to be true for you to feel completely comfortable "
    "here, even if the answer turns out to be no?",
)

_BACK_TO_GOAL = (
    "Hi {{first_name}},\n\n"
    "Setting our proposal aside for a moment: when we first talked, you described what you "
    "were hoping to change. Is that still what matters most to you? If the goal has moved, I "
    "would like to understand where it went, whether or not we are part of it.",

    "Hi {{first_name}},\n\n"
    "I have been talking a lot about our product and not enough about what you set out to "
    "achieve. Is that problem still on your plate, or has it been solved another way? Either "
    "answer is useful.",

    "Hi {{first_name}},\n\n"
    "Let's step away from the deal for a second. What outcome were you hoping for when you "
    "first got in touch, and is it still the one you are after?",
)

# Internal notes, never sent: {{proposed_date}} is the revisit date here.
_COLD_FILE = (
    "Cold file: \"{{subject}}\" with {{first_name}}. No more messages on this thread. "
    "Revisit on {{proposed_date}}, when priorities or the people deciding may have changed.",

    "Parked \"{{subject}}\". Revisit on {{proposed_date}} and start fresh, without "
    "referring to the old proposal.",

    "Cold file until {{proposed_date}}. Next time, open with something useful to "
    "{{first_name}}, not with this deal.",
)

DEFAULT_TEMPLATES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "step_back": _STEP_BACK,
    "apology_feedback": _APOLOGY_FEEDBACK,
    "apology_call": _APOLOGY_CALL,
    "where_from_here": _WHERE_FROM_HERE,
    "getback_date": _GETBACK_DATE,
    "truth_question": _TRUTH_QUESTION,
    "back_to_goal": _BACK_TO_GOAL,
    "cold_file": _COLD_FILE,
})
