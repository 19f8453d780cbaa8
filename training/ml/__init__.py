"""Django-free ML code for Crosswalk: MPO/DPO/SimPO losses, data building, the trainer, evaluation.

Importing this package imports nothing heavy; each module imports torch/transformers itself, so a
GPU worker can run it under `accelerate launch` without Django, and the web side never loads torch.
"""
