"""ESD (Gandikota et al., 2023): erase a concept from a base model's latent denoiser.

* ``config``: ``ESDConfig`` (the settings of one erasure), its limits, ``RECIPE``, the checks;
* ``objective``: ``esd_target``, the ESD loss and the preservation term (v / eps derivation);
* ``parameters``: the frozen teacher, the student's trainable parameters, the base fingerprint;
* ``sources``: where x_t comes from (a pool of teacher trajectories, the teacher, data);
* ``concept_clips``: the latents of the data source (the corpus clips of the concept);
* ``checkpointing``: what a run's checkpoints hold, and resuming from them;
* ``loop``: ``run_esd``, the training loop;
* ``runs``: an erasure on disk: its run folder and the base model it starts from.
"""
