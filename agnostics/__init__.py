"""Agnostics: language-agnostic post-training and evaluation of code LLMs."""

__version__ = "0.1.0"
