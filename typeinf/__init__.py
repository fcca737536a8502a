"""typeinf: neural type inference for Python and TypeScript."""

__version__ = "0.1.0"
