"""Super-resolution architectures and the registry that maps names to weights."""

from .registry import ARCHITECTURES, ModelCard, find_model, list_models, load_model, weights_dirs

__all__ = ["ARCHITECTURES", "ModelCard", "find_model", "list_models", "load_model", "weights_dirs"]
