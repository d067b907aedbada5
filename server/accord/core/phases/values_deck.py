"""The values cards that ship with Accord (the `values_sort` phase's deck "accord").

Written for Accord, not taken from any published inventory: forty short
cards on what intimacy and sex may mean to a person and what they may afford
(connection, reassurance, play, novelty, autonomy, …), for each partner to
sort into core, negotiable and not important (seed article: "values cards
that help partners articulate priorities clearly"; "primary values — core
beliefs that should remain nonnegotiable — and negotiable preferences").

The words are plain, respectful and not explicit; they assume no gender, no
orientation and no particular kind of relationship, and each sentence is in
the first person so that a partner reads it as a statement they may or may
not hold. A playbook may replace the deck (`deck = "none"` with its own
`cards`) or extend it (`cards` beside `deck = "accord"`).
"""

from __future__ import annotations

from typing import Final

#: (id, title, text) for each card, in the order a partner is shown them.
ACCORD_DECK: Final[tuple[tuple[str, str, str], ...]] = (
    ("connection", "Connection", "Intimacy is a way for us to feel close and connected."),
    ("reassurance", "Reassurance", "Intimacy reassures me that I am wanted and loved."),
    ("tenderness", "Tenderness", "Gentleness and tenderness matter to me when we are close."),
    ("play", "Play", "I want room for fun, laughter and playfulness between us."),
    ("novelty", "Novelty", "Trying something new together now and then matters to me."),
    ("familiarity", "Familiarity", "What we already know and enjoy together is precious to me."),
    ("spontaneity", "Spontaneity", "I value closeness that happens without being planned."),
    ("planning", "Making time", "I value setting time aside for intimacy on purpose."),
    ("frequency", "How often", "How often we are intimate is important to me."),
    ("autonomy", "Autonomy", "My body and my choices are my own, within our relationship."),
    ("consent", "Asking and checking in", "I want us to ask and check in with each other."),
    ("saying_no", "Saying no", "I need a no to be heard and accepted without a cost."),
    ("exclusivity", "Exclusivity", "Keeping intimacy just between the two of us matters to me."),
    ("openness", "Openness", "I value being open about how we might shape our relationship."),
    ("trust", "Trust", "Feeling safe and able to trust you comes first for me."),
    ("honesty", "Honesty", "I want us to be honest about what we want and do not want."),
    ("talking", "Talking about it", "Being able to talk about intimacy openly matters to me."),
    ("privacy", "Privacy", "Some thoughts and feelings I want to keep to myself."),
    ("affection", "Everyday affection", "Touch and affection outside the bedroom matter to me."),
    ("words", "Kind words", "Hearing what you appreciate about me means a lot to me."),
    ("pleasure", "Pleasure", "Enjoying pleasure, mine and yours, is important to me."),
    ("mutuality", "Give and take", "I want what we share to feel balanced between us."),
    ("initiative", "Who starts", "It matters to me who shows interest first, and how."),
    ("being_desired", "Being desired", "Feeling that you desire me is important to me."),
    ("comfort", "Comfort", "Intimacy is a source of comfort for me when life is hard."),
    ("stress_relief", "Letting go", "Intimacy helps me unwind and let go of stress."),
    ("self_worth", "Feeling good about myself", "Intimacy helps me feel good about who I am."),
    ("body_image", "Feeling at ease", "Feeling at ease in my own body matters to me."),
    ("slowness", "Taking it slow", "I value time and no hurry when we are close."),
    ("routine", "Rhythm", "A steady, predictable rhythm of closeness suits me."),
    ("adventure", "Adventure", "A sense of adventure and discovery is part of it for me."),
    ("emotional_depth", "Emotional depth", "I need to feel emotionally close before being close."),
    ("repair", "Making up", "Closeness helps us find each other again after a conflict."),
    ("faith", "Beliefs and traditions", "My beliefs or traditions shape what intimacy means."),
    ("family_plans", "Family plans", "Our plans about children shape what intimacy means to me."),
    ("health", "Health and safety", "Caring for our health and safety is part of intimacy."),
    ("boundaries", "Clear boundaries", "I want us each to know the other's limits clearly."),
    ("growth", "Growing together", "I want our intimacy to keep growing as we change."),
    ("rest", "Rest and space", "Having time to rest, and space alone, matters to me too."),
    ("commitment", "Commitment", "Intimacy is an expression of our commitment to each other."),
)
