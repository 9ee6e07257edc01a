"""The bundled family: 1-D conv VAE with (T/4, C) latents and a latent transformer on MiniLM."""
