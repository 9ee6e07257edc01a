"""ESD (Gandikota et al., 2023): erase a concept from a base model's latent denoiser.

* ``config``: ``ESDConfig`` (the settings of one erasure), its limits, ``RECIPE``, the checks;
* ``anchors``: automatic anchors (the concepts nearest the targets, kept by the preservation term);
* ``epochs``: what an epoch is (the seed's pass over the base's training split);
* ``budget``: the size of a run (pool memory, teacher work, steps) against named budgets;
* ``objective``: ``esd_target``, the ESD loss and the preservation term (v / eps derivation);
* ``parameters``: the frozen teacher, the student's trainable parameters;
* ``batching``: balanced, resumable batches (equal shares of every prompt);
* ``sources``: where x_t comes from (a pool of teacher trajectories, the teacher, data);
* ``concept_clips``: the latents of the data source (the corpus clips of the concept);
* ``history``: the bounded loss history;
* ``checkpointing``: what a run's checkpoints hold, and resuming from them;
* ``loop``: ``run_esd``, the training loop;
* ``runs``: an erasure on disk: its run folder and the base model it starts from.
"""
