"""Candidate generation: backends (local transformers, OpenAI-compatible HTTP), sampling strategies
(negatively-correlated, independent), checks with retries, diversity scores, and the background task.

torch and transformers are imported only when a local backend or the embedding model is used.
"""
from .service import GenerationReport, enqueue_generation, generate_for_prompts, regenerate, run_generation
from .strategies import INDEPENDENT, NEGATIVELY_CORRELATED, STRATEGIES

__all__ = ["GenerationReport", "enqueue_generation", "generate_for_prompts", "regenerate", "run_generation",
           "INDEPENDENT", "NEGATIVELY_CORRELATED", "STRATEGIES"]
