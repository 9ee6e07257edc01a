"""ESD: configuration, objective, trainable parameters, x_t sources and the training loop."""
