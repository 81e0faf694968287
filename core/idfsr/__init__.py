"""The IDFSR model: network, conditioning, degradations, training, fitting and sampling.

Importing this package is cheap; the modules that need torch/diffusers import them
themselves, so the CLI starts fast for commands that never touch the model.
"""
