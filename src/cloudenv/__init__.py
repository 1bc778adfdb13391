"""cloudenv: an open private cloud platform.

One daemon per node (``cloudenv serve``) serves the REST API and web UI on port 5007,
keeps desired state in one SQL database per cluster and reconciles it into real
virtual machines, containers, storage pools and switches on its node.
"""

__version__ = "0.1.0"
