"""Training of the base model (VAE, denoiser) and the evaluator: ``python -m esd.pretrain``.

* ``settings``: ``PretrainSettings`` (what every stage trains), file names, the callback types;
* ``folders``: the data folder's normalised clips, the run folder (created or refused);
* ``vae``, ``denoiser``, ``evaluator``: the training loops of the three networks;
* ``selection``: which denoiser checkpoint is kept (validation FID under the evaluator);
* ``base_stage``: the base model, VAE then denoiser, into ``checkpoints/t2m/NAME/``;
* ``evaluator_stage``: the evaluator and its reference set of the test split;
* ``bundle``: the trained base model and evaluator copied into ``assets/``;
* ``mixed``: a training folder of the procedural corpus plus imported motion capture;
* ``licences``: the licences of training data, model cards, the guards that keep
  non-commercial data and weights out of ``assets/``;
* ``salad_config``, ``salad_vae``, ``salad_denoiser``, ``salad_stage``: a reduced SALAD-family
  model (presets, its two training loops, the stage writing SALAD's own folder layout);
* ``cli``: the command line (flags, progress bars, messages).
"""
