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

An unlearning evaluation on top of them (``python -m esd.evaluate --evaluator t2m``):

* ``generation``: ``generation_callback(model, evaluator, ...)``, a MotionGenerator as the
  protocol's ``generate`` (meta-normalised, exact m_len, row i seeded seed + i);
* ``instruments``: ``load_scorer``, ``load_t2m_instruments``, ``load_concept_probe`` (the bundled
  recogniser's concept rates);
* ``run``: ``run_t2m(generators, instruments, splits, settings)``, the model and its baseline on
  the same draws -> metrics.json's ``t2m`` block; ``summary``: mean / ci95 / per-replication
  entries and the paired changes;
* ``verdicts``: ``t2m_verdicts`` (efficacy, preservation, specificity from the T2M numbers);
* ``report``: the Rich table and REPORT.md of a T2M metrics.json.

The metrics are ``esd.evaluation.metrics``, shared with the bundled evaluator.
"""
