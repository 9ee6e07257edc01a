"""Training of the base model (VAE, denoiser) and the evaluator: ``python -m esd.pretrain``."""
