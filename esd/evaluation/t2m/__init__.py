"""The T2M evaluator (Guo et al. 2022) and its evaluation protocol, as the papers run it.

Specification: ``../shared/docs/SALAD_COMPAT.md`` section 3. Modules, in the order of use:

* ``evaluator``: ``load_t2m_evaluator(checkpoints_dir)`` -> ``T2MEvaluator`` (the three
  ``networks`` from ``t2m/text_mot_match/model/finest.tar``, the meta statistics of
  ``t2m/Comp_v6_KLD005/meta``; co-embeddings in T2M's align order);
* ``vectorizer``: ``load_word_vectorizer(glove_dir)`` -> ``WordVectorizer`` (``our_vab_*`` read
  with ``safe_pickle``), ``pad_tokens``;
* ``tagger``: ``tag_caption`` for prompts without tokens, ``tagger_agreement``;
* ``testset``: ``load_test_items(data_root)`` -> the protocol's items; ``sampling``: one
  replication's batches;
* ``splits``: ``keyword_splits(items, target, related)`` (test / forget / retain / related);
* ``protocol``: ``evaluate_t2m(evaluator, words, splits, generate, T2MSettings(...))``.

The metrics are ``esd.evaluation.metrics``, shared with the bundled evaluator.
"""
