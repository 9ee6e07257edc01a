"""The motion format: 22-joint skeleton, quaternions, 263-d features, folders, concepts."""
