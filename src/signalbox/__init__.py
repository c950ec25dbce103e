"""signalbox: interlocking for shared Terraform environments."""

__version__ = "0.1.0"
__all__ = ["__version__"]
