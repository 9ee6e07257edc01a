"""Text encoders, model families (VAE + denoiser), diffusion maths, the generator, checkpoints."""
