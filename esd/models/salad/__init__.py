"""SALAD's family (Hong et al. 2025): skeleton-aware VAE with (T/4, 7, 32) latents, skip-transformer
v-prediction denoiser on CLIP token states, scaled-linear schedule; loads SALAD's own folders."""
