"""The core: Tensor, grad mode, the backward walk, dtypes, randomness and tensor creation."""
