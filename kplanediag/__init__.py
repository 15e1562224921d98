"""kplanediag: classify a Kubernetes cluster's components into control and data plane, check their
health, and report the blast radius of what is failing."""

__version__ = "0.1.0"
