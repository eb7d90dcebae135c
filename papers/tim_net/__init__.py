"""TIM-Net (Ye et al., ICASSP 2023): Keras model and the published reference numbers (reference.json)."""
