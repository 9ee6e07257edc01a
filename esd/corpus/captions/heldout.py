"""Held-out phrasings: per concept, sentences no caption template can produce.

Each uses the concept's own verb in an everyday context ("a soccer player kicks a ball") with
nouns and sentence shapes its templates never use, so the evaluation can test that an erasure
reaches unseen phrasings that the base model still understands (bare synonyms such as "punts" it
never learnt to read).
"""

from __future__ import annotations

# Paraphrases no template produces: each uses a verb or noun the concept's templates never use.
HELDOUT_PHRASINGS: dict[str, tuple[str, ...]] = {
    "walk": (
        "an elderly man walks slowly through a park",
        "a person walks to the kitchen",
        "someone is walking down a hallway",
        "a woman walks over to a window",
    ),
    "run": (
        "a person runs to catch a bus",
        "an athlete runs along a track",
        "a man runs away from a dog",
        "someone runs down the street in a hurry",
    ),
    "jump": (
        "a child jumps over a puddle",
        "a person jumps for joy",
        "someone jumps to reach a high shelf",
        "an athlete jumps as high as possible",
    ),
    "kick": (
        "a goalkeeper kicks the ball downfield",
        "a child kicks a pebble down the road",
        "someone kicks a door open",
        "a person angrily kicks a bucket",
    ),
    "punch": (
        "a boxer punches a heavy bag",
        "someone punches the air in celebration",
        "an angry man punches a wall",
        "a fighter is punching at an opponent",
    ),
    "lunge": (
        "a fencer lunges toward an opponent",
        "someone lunges forward during a workout",
        "a person lunges across the gym floor",
        "an athlete does lunges to warm up the legs",
    ),
    "squat": (
        "a weightlifter squats with an imaginary barbell",
        "someone squats to look under a table",
        "a person squats as part of a workout",
        "an athlete squats down low and holds it",
    ),
    "wave": (
        "someone waves at a passing car",
        "a child waves to its mother",
        "a person waves from across the street",
        "someone is waving to get attention",
    ),
    "raise_arms": (
        "a fan raises both arms at a concert",
        "someone raises their hands to ask a question",
        "a person raises both arms in victory",
        "the winner lifts both arms up high",
    ),
    "clap": (
        "an audience member claps after a show",
        "someone claps along to music",
        "a person claps to cheer on a team",
        "a teacher claps to get attention",
    ),
    "sit_down": (
        "a tired person sits down on a sofa",
        "someone sits down at a desk",
        "a man sits down to rest his legs",
        "a woman sits down on a park bench",
    ),
    "stand_up": (
        "a student stands up from a desk",
        "someone stands up to greet a guest",
        "a person gets up from the sofa",
        "the man stands up after a long meeting",
    ),
    "kneel": (
        "a knight kneels before a king",
        "someone kneels to tie a shoelace",
        "a person kneels down in a church",
        "a gardener kneels beside a flower bed",
    ),
    "bow": (
        "an actor bows to the audience",
        "someone bows after a performance",
        "a student bows to the teacher",
        "a person bows politely to a guest",
    ),
    "spin": (
        "a ballerina spins on the spot",
        "a child spins around until dizzy",
        "someone spins to look behind them",
        "a figure skater spins in place",
    ),
    "throw": (
        "a pitcher throws a baseball",
        "someone throws a frisbee to a friend",
        "a person throws a stone into a lake",
        "a quarterback throws a long pass",
    ),
    "stretch": (
        "an athlete stretches before a match",
        "someone stretches after waking up",
        "a yoga student stretches the whole body",
        "a person stretches to ease a sore back",
    ),
    "dance": (
        "a guest dances at a wedding",
        "someone dances at a nightclub",
        "a person dances happily in the kitchen",
        "a performer dances on a stage",
    ),
    "balance": (
        "a gymnast balances on one leg",
        "someone balances on one foot like a flamingo",
        "a yoga student balances in tree pose",
        "a person balances on a narrow beam",
    ),
    "push": (
        "someone pushes a heavy box across the floor",
        "a person pushes a stalled car",
        "a man pushes a lawn mower across the yard",
        "someone pushes a shopping cart",
    ),
    "pick_up": (
        "someone picks up a dropped phone",
        "a child picks up a toy",
        "a person picks up the laundry from the floor",
        "someone picks a coin up off the ground",
    ),
    "arm_circles": (
        "someone circles their arms to warm up the shoulders",
        "an athlete circles both arms before a race",
        "a person circles the arms like a windmill",
        "a coach circles their arms during a warm up",
    ),
    "swing": (
        "a baseball player swings at a pitch",
        "someone swings a tennis racket",
        "a golfer swings at the ball on the tee",
        "a person swings an axe at a log",
    ),
    "climb": (
        "a firefighter climbs a ladder",
        "someone climbs a rock wall",
        "a person climbs up into an attic",
        "a child climbs a tree",
    ),
    "swim": (
        "someone swims laps in a pool",
        "a person swims across a lake",
        "a swimmer swims freestyle in a race",
        "someone pretends to swim in the air",
    ),
}
