"""statsgraph: a typed GraphQL API over the usage statistics of the Aether LLM gateway."""

__version__ = "0.1.0"
