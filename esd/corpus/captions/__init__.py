"""HumanML3D-style captions of generated clips, held-out phrasings and POS token fields.

``generator.clip_captions`` describes a clip (one segment, or two composed: "a person walks
forward, then kicks with the right leg") from its ``SegmentFacts``: lower case, a varied subject
("a person", "a man", "someone", ...), present tense or "-ing" forms, the side, variant, speed and
repetitions where they matter, and the two segments joined by "then", "before", "after that"...

Modules:

* ``templates``: the predicate patterns of each concept and variant (a data table; its
  docstring describes the pattern language);
* ``phrases``: the other words and shapes of a sentence (subjects, sentence shapes, speed and
  repetition words, limbs and directions) and which templates fit which variants;
* ``heldout``: ``HELDOUT_PHRASINGS``, sentences no caption can be;
* ``lexicon``: the words used here with their parts of speech and inflected forms;
* ``generator``: the functions that fill templates into captions (``clip_captions``);
* ``tokens``: HumanML3D's token field (``pos_tokens``) and the caption line of a texts/ file
  (``caption_line``).

The vocabulary of each concept stays its own (a jump caption never says "kick"), and
``HELDOUT_PHRASINGS`` holds sentences no caption can be: the concept's own verb in everyday
contexts ("a soccer player kicks a ball") with nouns and shapes its templates never use, so the
evaluation can test that an erasure reaches unseen phrasings that the base model still
understands (bare synonyms such as "punts" it never learnt to read).

Importers name the module that defines what they use (``esd.corpus.captions.generator``, ...);
this package re-exports nothing.
"""
