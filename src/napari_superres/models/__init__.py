"""Restoration architectures, their contracts and the registry that maps names to weights.

Importing this package does not import torch: an architecture's module is imported
when a model of it is built.
"""

from .catalog import ARCHITECTURES, CONTRACTS, ModelContract, architecture
from .registry import ModelCard, find_model, list_models, load_model, weights_dirs

__all__ = ["ARCHITECTURES", "CONTRACTS", "ModelCard", "ModelContract", "architecture", "find_model", "list_models",
           "load_model", "weights_dirs"]
