"""The English text set the TTS voices speak: written by the project, generated from a seed.

Four sources, mixed in fixed shares so every corpus covers the same ground:

- ``written``: sentences written for this project, rich in the phones whose
  mouth shapes matter most (bilabials /p b m/, labiodentals /f v/, rounded
  /uw ow w/, open vowels), plus questions and exclamations;
- ``template``: sentences built from templates and word lists (names, places,
  objects, actions), questions included;
- ``numbers``: times, prices, dates, phone numbers, counts (the synthesiser
  expands digits itself, and its phone timings include the expansion);
- ``short``: one- to three-word lines ("Yes.", "No way!", "Maybe later.").

Long lines come from joining two or three sentences. Every choice draws from a
``random.Random(seed)``, so the same seed gives the same texts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["WRITTEN", "sentences"]

# fmt: off
WRITTEN: tuple[str, ...] = (
    # bilabials
    "Bob bought a bag of purple plums.", "My mum made maple muffins for the market.",
    "Put the map back by the lamp, please.", "Pam picked a bumpy path by the pond.",
    "Maybe the baby wants more milk.", "A big brown bear bumped the boat.",
    "Please pass me the paper plates.", "Buy bread, butter and a bottle of beer.",
    "The man in the van had a map of Memphis.", "Mobile phones must be put away.",
    "Bubbles popped above the bathtub.", "Pepper, pumpkin and plump tomatoes.",
    "Members may bring a partner to the party.", "The bomb squad moved the box.",
    "My brother bumped into the umpire.", "Embrace the problem, then improve the plan.",
    # labiodentals
    "Five fine violins filled the van.", "Fifty very heavy fish arrived on Friday.",
    "Of all the films, I loved the first the most.", "Vivid fever dreams faded fast.",
    "Fetch the vase from the far shelf.", "Every favour deserves a fair reward.",
    # rounding and spreading
    "Who knew the blue shoe would move?", "Go slowly over the old road.",
    "We were wondering where you went.", "Sue chose a cool new tool.",
    "Reading and keeping the peace is easy.", "The queen sees the green trees.",
    "Oh no, the snow is low on the hill.", "Would you look at the wool hood?",
    # open vowels
    "Father saw a large dark car.", "Hot coffee on a cold autumn morning.",
    "I might buy a kite tonight.", "How about a house down south?",
    "The cat sat on a flat black mat.", "Dogs bark at odd hours of the dark.",
    # sibilants and the rest
    "She sells sea shells by the shore.", "The judge changed the charges.",
    "Think through these three things.", "Kick the cat toy across the kitchen.",
    "Larry rolled the ladder along the lane.", "Yesterday the young yak yawned.",
    "The measure of pleasure is leisure.", "Singing and ringing, the kings went along.",
    # everyday speech
    "I'll be there in about ten minutes.", "Could you send me the report by tomorrow?",
    "I honestly don't know what happened.", "That was the best meal I've had in years.",
    "We need to talk about the budget.", "Turn left at the second traffic light.",
    "Thanks for waiting, the doctor will see you now.", "It's going to rain all weekend.",
    "Don't forget to lock the back door.", "The meeting has been moved to Monday morning.",
    "Can you believe how fast the summer went?", "Let me check and get back to you.",
    "Nobody expected the results to be this good.", "Keep your voice down, the baby is asleep.",
    "The train was delayed by almost an hour.", "I told you this would happen!",
    "Where did you put my keys?", "Why is the music so loud?",
    "What time does the museum open?", "How many people are coming to dinner?",
    "Is this the way to the beach?", "Are you sure you want to leave now?",
    "Stop! Wait for me!", "Wow, look at that view!", "Oh my goodness, that's wonderful news!",
    "Get out of my way.", "I can't stand this any more.", "Please, just leave me alone.",
    "Well, I suppose we could try again.", "Hmm, that's an interesting idea.",
    "Absolutely not, and that is final.", "You did a brilliant job, well done.",
    # game and film dialogue
    "The gate is locked. We need to find another way in.", "Stay behind me and keep quiet.",
    "The bridge won't hold us both.", "Take the map, and meet me by the mill at midnight.",
    "Prepare the ship, we leave at dawn.", "I've been waiting for you for a very long time.",
    "Nobody leaves this room until I find out who did it.", "Bring me the book from the top shelf.",
    "The village burned while we slept.", "Remember what I promised you?",
)
# fmt: on

_NAMES = ("Mary", "Peter", "Bobby", "Emma", "Michael", "Sophie", "James", "Olivia", "Ben", "Fiona",
          "Victor", "Paula", "Martin", "Wendy", "George", "Hannah", "Oscar", "Ruth", "Tom", "Amber",
          "Liam", "Maya", "Noah", "Zoe", "Felix", "Bella", "Hugo", "Ivy", "Max", "Nora")  # fmt: skip
_PLACES = ("the park", "the station", "Boston", "the office", "the museum", "Paris", "the beach",
           "the hospital", "the market", "Berlin", "the library", "the mountains", "Madrid",
           "the bakery", "the harbour", "Melbourne", "the village", "the old mill", "the bank",
           "the post office", "the zoo", "Vienna", "the farm", "the pub")  # fmt: skip
_OBJECTS = ("a blue umbrella", "the paper", "a bottle of water", "my phone", "the black box",
            "a map", "some bread", "the movie tickets", "a birthday present", "the keys",
            "a small boat", "the laptop", "a pair of boots", "some flowers", "the wooden spoon",
            "a violin", "the medicine", "a cup of coffee", "the photographs", "a bowl of soup",
            "the big book", "a puppy", "the pizza", "a warm blanket")  # fmt: skip
_ACTIONS = ("bought", "found", "lost", "borrowed", "brought", "opened", "moved", "painted",
            "packed", "fixed", "wanted", "forgot", "hid", "sold", "dropped", "broke", "washed",
            "carried", "pushed", "showed me")  # fmt: skip
_TIMES = ("yesterday", "this morning", "last week", "on Monday", "tonight", "every day",
          "after lunch", "before breakfast", "at midnight", "in the spring", "twice a week",
          "a minute ago", "on Friday evening", "next summer")  # fmt: skip
_FEELINGS = ("happy", "upset", "surprised", "scared", "furious", "bored", "proud", "puzzled",
             "amazed", "miserable", "thrilled", "worried", "calm", "tired")  # fmt: skip
_ADJECTIVES = ("beautiful", "broken", "massive", "empty", "wonderful", "boring", "muddy",
               "peaceful", "smooth", "funny", "awful", "bumpy", "brave", "vivid", "polite")  # fmt: skip

_TEMPLATES = (
    "{name} {action} {object} {time}.",
    "{name} went to {place} {time}.",
    "Did {name} really go to {place} {time}?",
    "Why did {name} bring {object} to {place}?",
    "I think {name} was {feeling} about it.",
    "{name} and {name2} met at {place} {time}.",
    "Have you seen {object}? {name} {action} it {time}.",
    "The weather in {place} was {adjective} {time}.",
    "We should meet {name} at {place} {time}.",
    "Where is {object}? I need it {time}.",
    "{name} felt {feeling} when the {adjective} news arrived.",
    "Please tell {name} that {object} is at {place}.",
    "It was a {adjective} day at {place}.",
    "Nobody knows why {name} {action} {object}.",
    "Is it true that {name} {action} {object}?",
    "Honestly, {name}, you {action} {object} {time}!",
    "Between you and me, {name} was {feeling}.",
    "Maybe {name} could pick up {object} from {place}.",
    "After {place}, {name} and {name2} were {feeling}.",
    "What a {adjective} idea, {name}!",
)

_NUMBER_TEMPLATES = (
    "The train leaves at {hour}:{minute:02d}.",
    "It costs {price} dollars.",
    "Call me on {phone}.",
    "There were {count} people at the concert.",
    "She was born on the {day}th of May, {year}.",
    "Room {room} is on the {floor}th floor.",
    "We walked {count} miles in {hours} hours.",
    "The score was {small} to {small2}.",
    "Add {small} and {small2}, then multiply by {small3}.",
    "In {year} the population was about {big}.",
)

_SHORT = ("Yes.", "No.", "Okay.", "Maybe.", "Thank you.", "Please.", "Really?", "No way!",
          "Of course.", "Not now.", "Hello there.", "Good morning.", "Goodbye.", "Watch out!",
          "Help me!", "Why not?", "Maybe later.", "Absolutely.", "Oh, come on!", "I'm fine.",
          "Me too.", "Bye bye.", "Move!", "Perfect.", "Whatever.", "Mm, maybe.", "Wow!", "Why?",
          "Be careful.", "Bravo!", "Fine by me.", "Impossible!", "My pleasure.", "Hurry up!")  # fmt: skip

# Shares of each source in a corpus (the rest: long lines of joined sentences).
SHARES = {"written": 0.3, "template": 0.3, "numbers": 0.1, "short": 0.1}


def _template(rng: random.Random) -> str:
    names = rng.sample(_NAMES, 2)
    return rng.choice(_TEMPLATES).format(
        name=names[0], name2=names[1], place=rng.choice(_PLACES), object=rng.choice(_OBJECTS),
        action=rng.choice(_ACTIONS), time=rng.choice(_TIMES), feeling=rng.choice(_FEELINGS),
        adjective=rng.choice(_ADJECTIVES),
    )  # fmt: skip


def _numbers(rng: random.Random) -> str:
    phone = f"{rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return rng.choice(_NUMBER_TEMPLATES).format(
        hour=rng.randint(1, 12), minute=rng.randint(0, 59), price=rng.randint(2, 999), phone=phone,
        count=rng.randint(3, 90), day=rng.randint(4, 20), year=rng.randint(1900, 2030),
        room=rng.randint(100, 999), floor=rng.randint(4, 20), hours=rng.randint(2, 9),
        small=rng.randint(0, 12), small2=rng.randint(0, 12), small3=rng.randint(2, 9),
        big=rng.randint(1000, 900000),
    )  # fmt: skip


def _one(rng: random.Random, kind: str) -> str:
    if kind == "written":
        return rng.choice(WRITTEN)
    if kind == "template":
        return _template(rng)
    if kind == "numbers":
        return _numbers(rng)
    if kind == "short":
        return rng.choice(_SHORT)
    # long: two or three sentences of the other kinds joined
    parts = [_one(rng, rng.choice(("written", "template", "numbers"))) for _ in range(rng.randint(2, 3))]
    return " ".join(parts)


def sentences(seed: int) -> Iterator[str]:
    """An endless, reproducible stream of English lines.

    Parameters
    ----------
    seed : int

    Yields
    ------
    str
        One line (a sentence, a question, a short reply, or two or three
        sentences joined).

    Examples
    --------
    >>> from itertools import islice
    >>> list(islice(sentences(1), 3)) == list(islice(sentences(1), 3))
    True
    """
    rng = random.Random(seed)
    kinds = [*SHARES, "long"]
    weights = [*SHARES.values(), 1.0 - sum(SHARES.values())]
    while True:
        yield _one(rng, rng.choices(kinds, weights)[0])
